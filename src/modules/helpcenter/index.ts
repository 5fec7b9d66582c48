export { helpCenterRoutes } from './helpcenter.routes.js'
export { createHelpCenterService, type HelpCenterService } from './helpcenter.service.js'
export { createHelpRepo, REVISION_CHANNEL as HELP_REVISION_CHANNEL } from './helpcenter.repo.js'
export { ContentError } from './content.js'
