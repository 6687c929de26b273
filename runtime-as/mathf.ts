// Float sigmoid, tanh and exp with a fixed cost. AssemblyScript's Mathf.exp runs the same
// operations for every argument of magnitude below 88 (a table lookup and a short
// polynomial); Mathf.tanh branches on the argument's size, so its multiply count varies
// from 0 to 13 with the data. These helpers clamp first and build tanh from exp, so every
// call with a non-NaN argument executes the same operations: the kernels' cost is independent of the data, and the
// compiler's cost formulas (compiler/cost) count it exactly. Accuracy, against the exact
// functions in f32: sigmoid is unchanged apart from |x| > 80 (where it is within 2e-35 of
// 0 or 1 anyway); tanh takes (e - 1) / (e + 1) with e = exp(2x) for |x| >= 0.3 (tanh(9)
// already rounds to 1 in f32) and its Taylor series below, a few ulp either way; expClamped
// differs from exp only below -87 (results under 2e-38 instead of smaller ones or 0).

@inline export function sigmoidf(x: f32): f32 {
  return <f32>1 / (<f32>1 + Mathf.exp(-Mathf.min(Mathf.max(x, -80), 80)));
}

@inline export function tanhf(x: f32): f32 {
  // large |x|: (e - 1) / (e + 1); below 0.3, where e - 1 would cancel, the odd Taylor series
  // to x^13 (its next term is under 3e-11 there). Both are always computed and a select picks
  // one, so the cost does not depend on x.
  const e = Mathf.exp(<f32>2 * Mathf.min(Mathf.max(x, -9), 9));
  const big = (e - <f32>1) / (e + <f32>1);
  const z = x * x;
  const p = x * (<f32>1 + z * (<f32>-0.33333333 + z * (<f32>0.13333333 + z * (<f32>-0.053968254 + z * (<f32>0.021869488 + z * (<f32>-0.0088632355 + z * <f32>0.0035921280))))));
  return select<f32>(p, big, Mathf.abs(x) < <f32>0.3);
}

@inline export function expClamped(x: f32): f32 {
  return Mathf.exp(Mathf.max(x, -87));
}
