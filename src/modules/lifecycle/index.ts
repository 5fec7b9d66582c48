export { createLifecycleRepo } from './lifecycle.repo.js'
export { createLifecycleService, PolicyInput, type LifecycleService, type SweepReport } from './lifecycle.service.js'
export { startSweepSchedule } from './lifecycle.schedule.js'
