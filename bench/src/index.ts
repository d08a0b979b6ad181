export { runScenario, SCENARIOS, DEFAULT_RESULTS_DIR, type RunOptions, type RunOutput } from './runner.js';
export type { ScenarioResult, TargetCheck } from './report/result.js';
export { latestTable } from './report/markdown.js';
