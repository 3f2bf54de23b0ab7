// The f32 atomic add that scatter kernels share (scatter_add, roi_align_grad). WGSL has atomics
// only for i32/u32, so an f32 add onto an `atomic<u32>` word is a compare-and-swap loop on the
// word's bits. Part of compiler/wgsl: kernel builders splice this statement into their bodies.

/**
 * WGSL statements adding the f32 expression `value` onto `buffer[index]` (an `array<atomic<u32>>`),
 * each line prefixed by `indent`. `value` is evaluated once per retry, so pass a name or a cheap
 * expression.
 */
export function atomicAddF32(buffer: string, index: string, value: string, indent: string): string {
  return [
    `var old = atomicLoad(&${buffer}[${index}]);`,
    'loop {',
    `  let swapped = atomicCompareExchangeWeak(&${buffer}[${index}], old, bitcast<u32>(bitcast<f32>(old) + ${value}));`,
    '  if (swapped.exchanged) { break; }',
    '  old = swapped.old_value;',
    '}',
  ]
    .map((line) => indent + line)
    .join('\n');
}
