// `alignc run FILE`: checks the pipeline, lowers it to its plan (compiler/lower/plan.ts), applies
// `--set` overrides and executes every stage on the runtime (runtime/run/executor.ts), writing the
// run directory (JSONL log, checkpoints) and printing each evaluation's COCO mAP on stdout.
// `--stage NAME` runs one stage, `--resume PATH` continues a run from its newest checkpoint,
// `--seed N` sets every random stream. This file parses flags and reports; runtime/run does the work.

import { readFileSync } from 'node:fs';
import { checkFilesOrThrow } from '../../compiler/check/index.js';
import { planProgram } from '../../compiler/lower/plan.js';
import { UsageError } from '../../runtime/errors.js';
import { applyOverrides } from '../../runtime/run/overrides.js';
import { defaultRunDir, runDirOfResume, runPipeline } from '../../runtime/run/executor.js';
import { cpuReferenceBackend } from '../../runtime/tensor/backend.js';
import type { Command } from '../command.js';

export const runCommand: Command = {
  name: 'run',
  summary: 'run a pipeline: pre-train, fine-tune and evaluate, writing runs/<name>/',
  usage:
    'alignc run FILE [--stage NAME] [--resume DIR] [--seed N] [--set NAME.PARAM=VALUE]... [--backend cpu-reference|webgpu]',
  options: [
    { name: 'stage', kind: 'string', placeholder: 'NAME', description: 'run only this stage' },
    {
      name: 'resume',
      kind: 'string',
      placeholder: 'PATH',
      description: 'continue a run: its directory, checkpoints folder or a checkpoint file',
    },
    {
      name: 'seed',
      kind: 'number',
      placeholder: 'N',
      description: 'seed of every random stream (default 0)',
    },
    {
      name: 'set',
      kind: 'list',
      placeholder: 'NAME.PARAM=VALUE',
      description: 'override a parameter, e.g. finetune.train.length=20iters (repeatable)',
    },
    {
      name: 'out',
      kind: 'string',
      placeholder: 'DIR',
      description: 'run directory (default runs/<pipeline name>, or -2, -3… if that holds a run)',
    },
    {
      name: 'backend',
      kind: 'string',
      placeholder: 'cpu-reference|webgpu',
      description: 'where the tensor graphs run (default cpu-reference)',
    },
  ],
  async run(args) {
    const [file, ...extra] = args.positionals;
    if (file === undefined)
      throw new UsageError('alignc run needs a pipeline file', { hint: this.usage });
    if (extra.length > 0)
      throw new UsageError(`alignc run takes one pipeline file, got ${args.positionals.length}`);
    const seed = args.numbers.get('seed') ?? 0;
    if (!Number.isInteger(seed) || seed < 0)
      throw new UsageError(`--seed needs a non-negative integer, got ${seed}`);
    const resume = args.strings.get('resume');
    const stage = args.strings.get('stage');
    const backendName = args.strings.get('backend') ?? 'cpu-reference';
    if (backendName !== 'cpu-reference' && backendName !== 'webgpu')
      throw new UsageError(`--backend must be cpu-reference or webgpu, not '${backendName}'`);
    const plan = applyOverrides(
      planProgram(checkFilesOrThrow([file])),
      args.lists.get('set') ?? [],
    );
    const runDir =
      args.strings.get('out') ??
      (resume !== undefined ? runDirOfResume(resume) : defaultRunDir(file));
    // The GPU is acquired only for --backend webgpu, and released however the run ends.
    const gpu =
      backendName === 'webgpu'
        ? await (await import('../../runtime/gpu/index.js')).acquireGpu()
        : undefined;
    const backend = gpu
      ? (await import('../../runtime/webgpu/backend.js')).webgpuBackend(gpu)
      : cpuReferenceBackend();
    let outcome: Awaited<ReturnType<typeof runPipeline>>;
    try {
      outcome = await runPipeline({
        plan,
        pipelineText: readFileSync(file, 'utf8'),
        runDir,
        seed,
        ...(stage === undefined ? {} : { stage }),
        ...(resume === undefined ? {} : { resume }),
        command: ['alignc', 'run', ...process.argv.slice(3)],
        backend,
        backendName,
        ...(gpu === undefined ? {} : { adapter: `${gpu.info.description} (${gpu.info.backend})` }),
        out: (line) => process.stdout.write(line + '\n'),
        settings: { overrides: (args.lists.get('set') ?? []).join(' ') },
      });
    } finally {
      if (gpu) await (await import('../../runtime/gpu/index.js')).releaseGpu(gpu);
    }
    // The CLI prints an AlignError as its message and anything else with its stack (cli/app.ts).
    if (outcome.error !== undefined) throw outcome.error;
    if (outcome.exitCode === 0)
      process.stderr.write(`run written to ${outcome.runDir} (alignc report ${outcome.runDir})\n`);
    return outcome.exitCode;
  },
};
