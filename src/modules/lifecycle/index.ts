export { createLifecycleRepo } from './lifecycle.repo.js'
export { createLifecycleService, FORECAST_PEOPLE_MAX, forecastHorizons, PolicyInput, type ForecastHorizon, type ForecastTarget, type InactivityForecast, type LifecycleService, type SweepReport } from './lifecycle.service.js'
export { startSweepSchedule } from './lifecycle.schedule.js'
