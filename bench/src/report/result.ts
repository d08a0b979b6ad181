export interface TargetCheck {
  name: string;
  target: string;
  measured: string;
  pass: boolean;
}

export interface ChartSeries {
  name: string;
  points: [number, number][];
}

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  /** Bar charts label x by category; line charts use numbers. */
  kind: 'line' | 'bar';
  categories?: string[];
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  openFilesLimit: string;
}

/** What a scenario returns. */
export interface ScenarioOutcome {
  config: Record<string, unknown>;
  /** Flat figures for the summary table and the README table. */
  metrics: Record<string, number | string>;
  targets: TargetCheck[];
  charts: Chart[];
  notes: string[];
  details: Record<string, unknown>;
}

/** A scenario's outcome with the run's context and verdict, as written to bench/results/. */
export interface ScenarioResult extends ScenarioOutcome {
  scenario: string;
  scale: 'tiny' | 'full';
  runId: string;
  startedAt: string;
  durationS: number;
  machine: MachineInfo;
  git: { commit: string; dirty: boolean };
  verdict: 'PASS' | 'FAIL';
}
