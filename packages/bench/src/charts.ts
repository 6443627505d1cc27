/**
 * Memory-over-time charts as SVG, rendered headless (vega-lite compiled to vega, vega's View
 * with renderer 'none' writes the SVG string; no browser, no canvas).
 * Per run: tree RSS and Node RSS over time, the pipeline's milestones as labelled rules, the
 * budget as a line. Combined: every case's typical run on one axis.
 */
import { compile, type TopLevelSpec } from 'vega-lite';
import * as vega from 'vega';
import { mb } from './stats.js';
import type { RunMeasure } from './types.js';

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Frame milestones other than the seed's 10/20/50/100 would crowd the chart. */
function keepMilestone(label: string): boolean {
  if (!label.startsWith('frame ')) return true;
  const n = Number.parseInt(label.slice(6), 10);
  return n === 10 || n === 20 || n === 50 || n === 100;
}

export function runChartSpec(run: RunMeasure, budgetMb: number, title: string): TopLevelSpec {
  const series = run.samples.flatMap((s) => [
    { t: s.t / 1000, mb: mb(s.treeRss), series: 'whole tree' },
    { t: s.t / 1000, mb: mb(s.rootRss), series: run.kind === 'ours' ? 'Node process' : 'root process' },
  ]);
  const milestones = run.milestones.filter((m) => keepMilestone(m.label)).map((m) => ({ t: m.t / 1000, label: m.label, mb: mb(m.treeRss) }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 720,
    height: 320,
    background: 'white',
    layer: [
      {
        data: { values: series },
        mark: { type: 'line', interpolate: 'step-after' },
        encoding: {
          x: { field: 't', type: 'quantitative', title: 'seconds since spawn' },
          y: { field: 'mb', type: 'quantitative', title: 'RSS (MB)' },
          color: { field: 'series', type: 'nominal', title: null },
        },
      },
      {
        data: { values: milestones },
        mark: { type: 'rule', color: '#999', strokeDash: [3, 3] },
        encoding: { x: { field: 't', type: 'quantitative' } },
      },
      {
        data: { values: milestones },
        mark: { type: 'text', angle: 270, align: 'left', baseline: 'bottom', dx: 4, dy: -2, fontSize: 9, color: '#555' },
        encoding: { x: { field: 't', type: 'quantitative' }, y: { field: 'mb', type: 'quantitative' }, text: { field: 'label' } },
      },
      {
        data: { values: [{ budget: budgetMb, label: `budget ${budgetMb} MB` }] },
        mark: { type: 'rule', color: '#c00' },
        encoding: { y: { field: 'budget', type: 'quantitative' } },
      },
    ],
  };
}

export function combinedChartSpec(runs: readonly RunMeasure[], budgetMb: number): TopLevelSpec {
  const values = runs.flatMap((run) => run.samples.map((s) => ({ t: s.t / 1000, mb: mb(s.treeRss), run: `${run.caseId} (${run.kind})` })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Peak tree RSS over time, every case (typical run)',
    width: 720,
    height: 360,
    background: 'white',
    layer: [
      {
        data: { values },
        mark: { type: 'line', interpolate: 'step-after' },
        encoding: {
          x: { field: 't', type: 'quantitative', title: 'seconds since spawn' },
          y: { field: 'mb', type: 'quantitative', title: 'tree RSS (MB)' },
          color: { field: 'run', type: 'nominal', title: null },
        },
      },
      {
        data: { values: [{ budget: budgetMb }] },
        mark: { type: 'rule', color: '#c00' },
        encoding: { y: { field: 'budget', type: 'quantitative' } },
      },
    ],
  };
}
