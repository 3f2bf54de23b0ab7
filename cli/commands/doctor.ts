// `alignc doctor`: is this machine ready to run alignc? Prints the WebGPU adapter, driver, backend,
// limits and optional features, dispatches a tiny kernel and verifies it, and ends with a one-line
// verdict. Exit status 0 when ready, 1 when not.

import type { DoctorReport } from '../../runtime/gpu/doctor.js';
import type { Command } from '../command.js';

function formatReport(report: DoctorReport): string {
  const lines: string[] = [];
  lines.push(`node         ${report.node} (${report.platform})`);
  const a = report.adapter;
  if (a) {
    lines.push(
      `adapter      ${a.device || '(unnamed)'} — vendor ${a.vendor || '?'}, architecture ${a.architecture || '?'}`,
    );
    lines.push(`driver       ${a.description || '(no description)'}`);
    lines.push(
      `backend      ${a.backend}${a.isSoftware ? ' [software]' : ''}${a.isFallbackAdapter ? ' [fallback adapter]' : ''}`,
    );
    const optional = ['shader-f16', 'subgroups', 'timestamp-query']
      .map((f) => `${f} ${a.enabledFeatures.includes(f as never) ? 'yes' : 'no'}`)
      .join(', ');
    lines.push(`features     ${optional}`);
    if (a.subgroupMinSize !== undefined) {
      lines.push(`subgroups    size ${a.subgroupMinSize}..${a.subgroupMaxSize}`);
    }
    lines.push('limits');
    for (const [name, value] of Object.entries(a.limits)) {
      lines.push(`  ${name.padEnd(36)} ${value}`);
    }
  }
  if (report.dispatch) {
    lines.push(
      `dispatch     ${report.dispatch.ok ? 'ok' : 'FAILED'}: ${report.dispatch.detail} in ${report.dispatch.milliseconds.toFixed(1)} ms`,
    );
  }
  if (report.error) {
    lines.push(`error[${report.error.code}]: ${report.error.message}`);
    if (report.error.hint) lines.push(`  hint: ${report.error.hint}`);
  }
  lines.push('', `verdict: ${report.verdict}`);
  return lines.join('\n');
}

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check the WebGPU setup: adapter, driver, limits, features, and a verified test kernel',
  usage: 'alignc doctor [--json]',
  options: [{ name: 'json', kind: 'boolean', description: 'print the report as JSON' }],
  async run(args) {
    // Loaded on use: other commands should not pay for loading Dawn's native module.
    const { runDoctor } = await import('../../runtime/gpu/doctor.js');
    const report = await runDoctor();
    process.stdout.write(
      (args.booleans.has('json') ? JSON.stringify(report, null, 2) : formatReport(report)) + '\n',
    );
    return report.ok ? 0 : 1;
  },
};
