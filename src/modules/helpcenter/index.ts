export { helpCenterRoutes } from './helpcenter.routes.js'
export { createHelpCenterService, type HelpCenterService } from './helpcenter.service.js'
export { createHelpRepo } from './helpcenter.repo.js'
export { ContentError } from './content.js'
