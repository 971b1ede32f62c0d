import { GraphBuilder, encodeModel } from '@vasink/onnx-graph';

/** ONNX bytes of `sum = a + b` over float32 vectors of any length. */
export function addModelBytes(): Uint8Array {
  const g = new GraphBuilder();
  const a = g.input('a', 'float32', ['n']);
  const b = g.input('b', 'float32', ['n']);
  g.output(g.add(a, b), { name: 'sum' });
  return encodeModel(g.build());
}
