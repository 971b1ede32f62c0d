# Generator of py-linear.onnx (Debian python3-onnx 1.12): a golden file serialised by
# protobuf C++, used by onnx-codec.test.ts. Dev tooling only; tests never run python.
import onnx, numpy as np
from onnx import helper, TensorProto, numpy_helper
x = helper.make_tensor_value_info('x', TensorProto.FLOAT, ['N', 3])
y = helper.make_tensor_value_info('y', TensorProto.FLOAT, ['N', 2])
w = helper.make_tensor('w', TensorProto.FLOAT, [3, 2], [1, 2, 3, 4, 5, 6])  # float_data
b = numpy_helper.from_array(np.array([0.5, -0.5], dtype=np.float32), 'b')  # raw_data
i64 = helper.make_tensor('shape', TensorProto.INT64, [2], [-1, 2])
nodes = [
  helper.make_node('MatMul', ['x', 'w'], ['xw']),
  helper.make_node('Add', ['xw', 'b'], ['s']),
  helper.make_node('Reshape', ['s', 'shape'], ['r']),
  helper.make_node('LeakyRelu', ['r'], ['y'], alpha=0.25),
  helper.make_node('Transpose', ['r'], ['t'], perm=[1, 0]),
]
g = helper.make_graph(nodes, 'pygraph', [x], [y], [w, b, i64])
m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)], producer_name='python-onnx')
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, 'py-linear.onnx')
print('written', len(m.SerializeToString()))
