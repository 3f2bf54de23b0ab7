// `alignc compile FILE --emit ast|plan|ir|wgsl`: shows what the compiler makes of a pipeline. `ast`
// prints the checked AST of the file as JSON (spans included); `plan` the program plan the runtime
// executes (declarations as configuration, stages as ordered steps; compiler/lower/plan.ts). `ir` lowers the file's tensor
// functions (or the one named by --fn) to the primitive IR for the dimension sizes given by --dims,
// optionally with the backward appended (--grad), and pretty-prints the graphs. `wgsl` prints the
// kernels of the same graphs as generated for this machine's adapter (fused elementwise and
// reduction kernels in full; GEMM-based contractions are specialised per shape at dispatch).

import type { FnDecl } from '../../grammar/ast.js';
import { checkFilesOrThrow } from '../../compiler/check/index.js';
import { printGraph, type Graph } from '../../compiler/ir/index.js';
import { collectFunctions } from '../../compiler/lower/functions.js';
import { declaredArgTypes, gradientGraph } from '../../compiler/lower/grad.js';
import { lowerFn } from '../../compiler/lower/lower-fn.js';
import { planProgram } from '../../compiler/lower/plan.js';
import { UsageError } from '../../runtime/errors.js';
import { closest, type Command } from '../command.js';
import { parseDims } from '../function-args.js';

const EMITS = ['ast', 'plan', 'ir', 'wgsl'] as const;
type Emit = (typeof EMITS)[number];

function isEmit(s: string): s is Emit {
  return (EMITS as readonly string[]).includes(s);
}

/** The function's IR for the given sizes; with `grad`, the gradients of the output's sum appended. */
export function functionGraph(
  fn: FnDecl,
  functions: ReadonlyMap<string, FnDecl>,
  dims: ReadonlyMap<string, number>,
  grad: boolean,
): { readonly graph: Graph; readonly dims: ReadonlyMap<string, number> } {
  const declared = declaredArgTypes(fn, dims);
  const graph = grad
    ? gradientGraph(fn, declared.types, functions).graph
    : lowerFn(fn, declared.types, functions).graph;
  return { graph, dims: declared.dims };
}

function selectedFunctions(
  file: string,
  name: string | undefined,
): { fns: FnDecl[]; all: ReadonlyMap<string, FnDecl> } {
  const table = collectFunctions(file);
  if (name !== undefined) {
    const fn = table.functions.get(name);
    if (!fn) {
      const near = closest(name, [...table.functions.keys()]);
      throw new UsageError(`no function ${name} in ${file} or the files it uses`, {
        hint: near ? `did you mean ${near}?` : undefined,
      });
    }
    return { fns: [fn], all: table.functions };
  }
  const entry = table.program.entries[0];
  const own = (entry?.ast?.items ?? []).filter((i): i is FnDecl => i.kind === 'FnDecl');
  if (own.length === 0) {
    throw new UsageError(`${file} defines no functions to lower`, {
      hint: 'name one with --fn (functions of used files count too)',
    });
  }
  return { fns: own, all: table.functions };
}

export const compileCommand: Command = {
  name: 'compile',
  summary: 'show what the compiler makes of a file: AST, plan, or its functions as IR or WGSL',
  usage: 'alignc compile FILE --emit ast|plan|ir|wgsl [--fn NAME] [--dims N=4,D=8] [--grad]',
  options: [
    {
      name: 'emit',
      kind: 'string',
      placeholder: 'ast|plan|ir|wgsl',
      description: 'what to print (default ast)',
    },
    {
      name: 'fn',
      kind: 'string',
      placeholder: 'NAME',
      description: 'only this function (ir, wgsl)',
    },
    {
      name: 'dims',
      kind: 'string',
      placeholder: 'N=4,D=8',
      description: 'sizes of dimension names (others get small defaults)',
    },
    { name: 'grad', kind: 'boolean', description: 'append the backward (gradients) to the IR' },
  ],
  async run(args) {
    if (args.positionals.length !== 1)
      throw new UsageError('alignc compile needs exactly one .align file');
    const emit = args.strings.get('emit') ?? 'ast';
    if (!isEmit(emit))
      throw new UsageError(`--emit must be one of ${EMITS.join(', ')}, not '${emit}'`);
    const file = args.positionals[0];
    switch (emit) {
      case 'ast': {
        const program = checkFilesOrThrow([file]);
        process.stdout.write(JSON.stringify(program.entries[0]?.ast, null, 2) + '\n');
        return 0;
      }
      case 'plan': {
        const program = checkFilesOrThrow([file]);
        process.stdout.write(JSON.stringify(planProgram(program), null, 2) + '\n');
        return 0;
      }
      case 'ir': {
        const { fns, all } = selectedFunctions(file, args.strings.get('fn'));
        const dims = parseDims(args);
        for (const fn of fns) {
          const { graph, dims: used } = functionGraph(fn, all, dims, args.booleans.has('grad'));
          const sizes = [...used].map(([k, v]) => `${k}=${v}`).join(', ');
          process.stdout.write(
            `// fn ${fn.name.name}${sizes ? ` (${sizes})` : ''}${args.booleans.has('grad') ? ', with gradients' : ''}\n${printGraph(graph)}\n\n`,
          );
        }
        return 0;
      }
      case 'wgsl': {
        const { fns, all } = selectedFunctions(file, args.strings.get('fn'));
        const dims = parseDims(args);
        const graphs = fns.map((fn) => ({
          fn,
          ...functionGraph(fn, all, dims, args.booleans.has('grad')),
        }));
        // Kernels are generated for the adapter they will run on (its limits and subgroup width).
        const { withGpu } = await import('../../runtime/gpu/index.js');
        const { GraphExecutor } = await import('../../runtime/webgpu/executor.js');
        await withGpu(async (ctx) => {
          for (const { fn, graph, dims: used } of graphs) {
            const executor = await GraphExecutor.compile(ctx, graph);
            const sizes = [...used].map(([k, v]) => `${k}=${v}`).join(', ');
            const out: string[] = [
              `// fn ${fn.name.name}${sizes ? ` (${sizes})` : ''}: ${executor.steps.length - executor.steps.filter((s) => s.group.kind === 'input').length} kernels on ${ctx.info.device}`,
            ];
            for (const step of executor.steps) {
              const node = graph.nodes[step.group.node];
              if (step.group.kind === 'input') continue;
              const fused = executor.fusedKernels.get(node.id);
              const program = executor.opPrograms.get(node.id);
              if (fused) {
                out.push(
                  `\n// ---- ${fused.kernel.label} [${fused.kernel.key}]`,
                  fused.kernel.wgsl,
                );
              } else if (program) {
                for (const kernel of program.kernels) {
                  out.push(
                    `\n// ---- ${kernel.kernel.label} [${kernel.kernel.key}]`,
                    kernel.kernel.wgsl,
                  );
                }
              } else if (step.group.kind === 'host') {
                out.push(
                  `\n// ---- %${node.id} ${node.op}: runs on the CPU reference (no WGSL lowering yet)`,
                );
              } else {
                const epilogue = step.epilogue
                  ? `, with the elementwise epilogue of %${step.epilogue.writes} fused into its store`
                  : '';
                out.push(
                  `\n// ---- %${node.id} ${node.op}: the GEMM kernel, specialised per shape at dispatch${epilogue} (ALIGNC_DEBUG=3 prints it)`,
                );
              }
            }
            process.stdout.write(out.join('\n') + '\n\n');
          }
        });
        return 0;
      }
      default:
        return emit satisfies never;
    }
  },
};
