/**
 * The AssemblyScript of an --intermittent module that replaces run() (the plan comes from
 * intermittent.ts): the tables (pieces, tile arguments, read ranges, whole-tensor hashes,
 * write-after-read commits), the task dispatch (one branch per split layer, reading its
 * tile's arguments from a table), the commit path (seal the outputs still needed, list the
 * dirty ranges, write the record slot), the checks after a reset (resume() for inputs and
 * outputs, each task for the saved pieces it reads, a restart from task 0 on a mismatch),
 * and the exports of the host protocol (docs/intermittent.md).
 */
import { tileGroups, type IntermittentPlan } from "./intermittent.js";

/** The AssemblyScript that replaces run(): tables, the task switch, and the exports. */
export function intermittentSource(p: IntermittentPlan, mark: string): string[] {
  const T = p.tasks.length, NP = p.pieces.length;
  const first = p.tasks.map((t) => t.pieces[0]);
  first.push(NP);
  const inputs = first[0];
  // a tiled layer is one branch: each tile's arguments that differ (pointer offsets, counts)
  // come from a table, rows padded to a power of two so that no multiply addresses them
  const groups = tileGroups(p);
  // read ranges: one entry per distinct range (its check flag is shared by every task that
  // reads it), and per distinct list of ranges a slice of CK_RANGE_LIST
  const rangeRows: number[] = [], rangeList: number[] = [], taskRanges: number[] = [];
  const entry = new Map<string, number>(), lists = new Map<string, [number, number]>();
  for (const t of p.tasks) {
    const key = JSON.stringify(t.reads);
    let lr = lists.get(key);
    if (!lr) {
      const l0 = rangeList.length;
      for (const [a, b] of t.reads) {
        let r = entry.get(`${a},${b}`);
        if (r === undefined) {
          r = rangeRows.length / 4;
          entry.set(`${a},${b}`, r);
          // (pieces are in the order of their tasks: the first has the earliest writer)
          rangeRows.push(a, b, p.pieces[a].task, p.wholes.findIndex((w) => w.pieces[0] === a && w.pieces[1] === b));
        }
        rangeList.push(r);
      }
      lr = [l0, rangeList.length];
      lists.set(key, lr);
    }
    taskRanges.push(...lr);
  }
  const tables = groups.map((g) => `const CK_TILES_${g.layer}: usize = memory.data<i32>([${g.rows.flatMap((r) => [...r, ...new Array(g.stride - r.length).fill(0)]).join(", ")}]);`);
  const branches = groups.flatMap((g) => {
    const args: string[] = g.call.args.map(String);
    g.vary.forEach(([i, isPtr], k) => { args[i] = isPtr ? `${args[i]} + <usize>load<i32>(e, ${4 * k})` : `load<i32>(e, ${4 * k})`; });
    const st = g.call.tile!.state;
    if (!st) return [
      `    if (t >= ${g.first} && t < ${g.first + g.rows.length}) { // layer ${g.layer}: ${g.rows.length} tiles`,
      `      ${mark}(${g.layer});`,
      `      const e = CK_TILES_${g.layer} + (<usize>(t - ${g.first}) << ${Math.log2(4 * g.stride)});`,
      `      ${g.call.kernel}(${args.join(", ")});`,
      "    } else",
    ];
    // recurrent tiles: the state after the steps before (h, then c, in the region) comes into
    // the kernel's scratch; the tile's units' new h and c go to its steps' buffer. The table
    // row ends with the two buffers' addresses (0: the first steps, from the initial state).
    const scratch = String(g.call.args[st.arg]), vb = st.hidden * st.elem, sh = Math.log2(st.elem);
    const at = 4 * g.vary.length;
    const unit = (k: 0 | 1) => {
      const i = g.call.tile!.unitArgs?.[k];
      if (i === undefined) return k === 0 ? "0" : String(st.hidden);
      return `load<i32>(e, ${4 * g.vary.findIndex(([j]) => j === i)})`;
    };
    args[st.mode] = "from != 0 ? 2 : 1";
    return [
      `    if (t >= ${g.first} && t < ${g.first + g.rows.length}) { // layer ${g.layer}: ${g.rows.length} tiles of time steps${g.call.tile!.unitArgs ? " and hidden units" : ""}`,
      `      ${mark}(${g.layer});`,
      `      const e = CK_TILES_${g.layer} + (<usize>(t - ${g.first}) << ${Math.log2(4 * g.stride)});`,
      `      const from = <usize>load<i32>(e, ${at}), to = <usize>load<i32>(e, ${at + 4});`,
      `      const j0 = ${unit(0)}, j1 = ${unit(1)};`,
      "      // (a step's first tile always copies it; a later tile of the step finds it in the",
      "      // scratch when the tile before ran in this power-on: it changed only its own units' c)",
      `      if (from != 0 && (j0 == 0 || ck_rec_${g.layer} != t - 1)) { memory.copy(${scratch}, from, ${vb}); memory.copy(${scratch} + ${st.cOffset}, from + ${vb}, ${vb}); }`,
      `      ${g.call.kernel}(${args.join(", ")});`,
      `      ck_rec_${g.layer} = t;`,
      "      // a step finished short of its last unit leaves its units' new h apart",
      `      const hs: usize = ${st.hOut ? `j1 < ${st.hidden} ? ${scratch} + ${st.hOut} : ${scratch}` : scratch};`,
      `      const o = <usize>j0 << ${sh}, n = <usize>(j1 - j0) << ${sh};`,
      `      memory.copy(to + o, hs + o, n);`,
      `      memory.copy(to + ${vb} + o, ${scratch} + ${st.cOffset} + o, n);`,
      "    } else",
    ];
  });
  const cases = p.tasks.flatMap((t, i) => t.range ? [] : [
    `    case ${i}: { // layer ${t.layer}${t.tiles > 1 ? `, tile ${t.tile + 1} of ${t.tiles}` : ""}`,
    `      ${mark}(${t.layer});`,
    ...t.lines.map((l) => `    ${l}`),
    "      break;",
    "    }",
  ]);
  return [
    `// --intermittent (${p.grain}): ${T} tasks; non-volatile region [${p.nvBase}, ${p.nvBase + p.nvBytes}): the arena (and recurrent state buffers), then the record at ${p.recordAddress} (${p.recordBytes} bytes)`,
    `const CK: usize = ${p.recordAddress};`,
    `const CK_TASKS: i32 = ${T};`,
    `const CK_NPIECES: i32 = ${NP};`,
    "// pieces: address, bytes, task that writes it (-1: an input), last task that needs it (the task count: an output),",
    "// ranges (of `bytes` each), the bytes from one range to the next; two words of padding",
    `const CK_PIECES: usize = memory.data<i32>([${p.pieces.flatMap((q) => [q.address, q.bytes, q.task, q.last, q.count, q.stride, 0, 0]).join(", ")}]);`,
    "// first piece of each task, then the piece count (pieces before the first task's are the inputs)",
    `const CK_FIRST: usize = memory.data<i32>([${first.join(", ")}]);`,
    ...(tables.length ? ["// tiles of the layers that split: units u0 .. u1, rows r0 .. r1", ...tables] : []),
    ...groups.filter((g) => g.call.tile!.state).map((g) => `/** Volatile: the last tile of recurrent layer ${g.layer} run since the last reset (its state is in the kernel's scratch). */\nlet ck_rec_${g.layer}: i32 = -1;`),
    "// per task: its read ranges, [first, end) of CK_RANGE_LIST (indices into CK_RANGES); CK_RANGES: first piece, end,",
    "// earliest writer, index in CK_WHOLES of the tensor hashed whole (-1: none)",
    `const CK_TASK_RANGES: usize = memory.data<i32>([${taskRanges.join(", ")}]);`,
    `const CK_RANGE_LIST: usize = memory.data<i32>([${rangeList.length ? rangeList.join(", ") : "0"}]);`,
    `const CK_RANGES: usize = memory.data<i32>([${rangeRows.length ? rangeRows.join(", ") : "0, 0, 0, 0"}]);`,
    "// split layers' outputs hashed whole: address, bytes, its last tile's task, the last task that reads it (hash CK_NPIECES + i)",
    `const CK_WHOLES: usize = memory.data<i32>([${p.wholes.length ? p.wholes.flatMap((w) => [w.address, w.bytes, w.task, w.last]).join(", ") : "0, 0, 0, 0"}]);`,
    "// per task: the index in CK_WHOLES of the tensor it completes (-1: none)",
    `const CK_WHOLE_AT: usize = memory.data<i32>([${p.tasks.map((_, t) => p.wholes.findIndex((w) => w.task === t)).join(", ")}]);`,
    "// volatile: the read ranges checked since the last resume()",
    `const CK_SEEN: usize = memory.data(${Math.max(1, rangeRows.length / 4)});`,
    "// the pieces resume() checks at once: inputs, outputs, pieces no later task's reads cover",
    `const CK_EAGER: usize = memory.data<i32>([${p.eager.length ? p.eager.join(", ") : "0"}]);`,
    "// per task: the latest earlier task that reads bytes it writes (-1: none)",
    `const CK_WAR: usize = memory.data<i32>([${p.tasks.map((t) => t.war).join(", ")}]);`,
    "// the ranges the host must persist after the last call, in order: address, bytes",
    `const CK_DIRTY: usize = memory.data(${8 * (p.pieces.reduce((a, q) => a + q.count, 0) + NP + p.wholes.length + 4)});`,
    "let ck_dirty_n: i32 = 0;",
    "/** The next task to run; -1 until begin() or resume() since the last reset. */",
    "let ck_next: i32 = -1;",
    "/** The next task as last committed: a resume starts there. */",
    "let ck_done: i32 = 0;",
    "let ck_restarts: i32 = 0;",
    "/** Whether the inputs are sealed: false from begin() until its first commit. */",
    "let ck_sealed: bool = true;",
    "/** After resume(): the task it resumed at; pieces written before it come from the saved image and are checked before a task reads them. -1: none to check. */",
    "let ck_from: i32 = -1;",
    "",
    "function ck_dirty(p: usize, n: i32): void {",
    "  const e = CK_DIRTY + (<usize>ck_dirty_n << 3);",
    "  store<i32>(e, <i32>p);",
    "  store<i32>(e, n, 4);",
    "  ck_dirty_n++;",
    "}",
    "",
    "/** Hashes piece i into the record and lists its ranges as dirty. */",
    "function ck_seal_piece(i: i32): void {",
    "  const e = CK_PIECES + (<usize>i << 5);",
    "  let a = <usize>load<i32>(e);",
    "  const b = <usize>load<i32>(e, 4), n = load<i32>(e, 16), d = <usize>load<i32>(e, 20);",
    "  ck_seal(CK, i, a, b, n, d);",
    "  for (let k = 0; k < n; k++) {",
    "    ck_dirty(a, <i32>b);",
    "    a += d;",
    "  }",
    "}",
    "",
    "/** Whether piece i still has the hash it was sealed with. */",
    "function ck_intact(i: i32): bool {",
    "  const e = CK_PIECES + (<usize>i << 5);",
    "  return ck_check(CK, i, <usize>load<i32>(e), <usize>load<i32>(e, 4), load<i32>(e, 16), <usize>load<i32>(e, 20));",
    "}",
    "",
    "/**",
    " * Commits progress up to task n: hashes the outputs of the tasks since the last commit that",
    " * a task from n on still reads, lists them, their hashes and the record slot as dirty.",
    " */",
    "function ck_commit_to(n: i32): void {",
    "  // the first commit of an inference also seals the inputs (pieces 0 ..) that tasks from n on read",
    "  const p0 = ck_sealed ? load<i32>(CK_FIRST + (<usize>ck_done << 2)) : 0, p1 = load<i32>(CK_FIRST + (<usize>n << 2));",
    "  for (let i = p0; i < p1; i++) {",
    "    const e = CK_PIECES + (<usize>i << 5);",
    "    if (load<i32>(e, 12) < n) continue; // read by no task from n on",
    "    ck_seal_piece(i);",
    "  }",
    "  // then the hashes of the pieces sealed, a range per run of them",
    "  let r0 = -1;",
    "  for (let i = p0; i < p1; i++) {",
    "    if (load<i32>(CK_PIECES + (<usize>i << 5), 12) >= n) { if (r0 < 0) r0 = i; }",
    "    else if (r0 >= 0) { ck_dirty(CK + CK_SLOTS + (<usize>r0 << 2), (i - r0) << 2); r0 = -1; }",
    "  }",
    "  if (r0 >= 0) ck_dirty(CK + CK_SLOTS + (<usize>r0 << 2), (p1 - r0) << 2);",
    ...(p.wholes.length ? [
      "  // the split layers completed by these tasks whose outputs a task from n on reads: hashed whole",
      "  for (let t = ck_done; t < n; t++) {",
      "    const j = load<i32>(CK_WHOLE_AT + (<usize>t << 2));",
      "    if (j < 0) continue;",
      "    const q = CK_WHOLES + (<usize>j << 4);",
      "    if (load<i32>(q, 12) < n) continue;",
      "    ck_seal(CK, CK_NPIECES + j, <usize>load<i32>(q), <usize>load<i32>(q, 4), 1, 0);",
      "    ck_dirty(CK + CK_SLOTS + (<usize>(CK_NPIECES + j) << 2), 4);",
      "  }",
    ] : []),
    "  ck_dirty(ck_commit(CK, n, ck_id()), <i32>CK_SLOT);",
    "  ck_done = n;",
    "  ck_sealed = true;",
    "}",
    "",
    "/** Checks the pieces from before the reset that task t reads and no task has checked since: false when one differs. */",
    "function ck_verify(t: i32): bool {",
    "  const l1 = load<i32>(CK_TASK_RANGES + (<usize>t << 3), 4);",
    "  for (let l = load<i32>(CK_TASK_RANGES + (<usize>t << 3)); l < l1; l++) {",
    "    const r = load<i32>(CK_RANGE_LIST + (<usize>l << 2));",
    "    const g = CK_RANGES + (<usize>r << 4);",
    "    if (load<u8>(CK_SEEN + <usize>r) != 0 || load<i32>(g, 8) >= ck_from) continue;",
    "    const wh = load<i32>(g, 12);",
    "    if (wh >= 0 && load<i32>(CK_WHOLES + (<usize>wh << 4), 8) < ck_from) {",
    "      // complete before the reset: its whole-tensor hash, in one pass",
    "      const q = CK_WHOLES + (<usize>wh << 4);",
    "      if (!ck_check(CK, CK_NPIECES + wh, <usize>load<i32>(q), <usize>load<i32>(q, 4), 1, 0)) return false;",
    "    } else {",
    "      // piece by piece (the loop inlined: one-dimensional tiles make many small pieces)",
    "      const i0 = load<i32>(g), i1 = load<i32>(g, 4), from = ck_from;",
    "      let e = CK_PIECES + (<usize>i0 << 5), hp = CK + CK_SLOTS + (<usize>i0 << 2);",
    "      for (let i = i0; i < i1; i++) {",
    "        // written before the reset and still needed (a range may span pieces no longer needed)",
    "        if (load<i32>(e, 8) < from && load<i32>(e, 12) >= t && load<u32>(hp) != ck_hash_ranges(<usize>load<i32>(e), <usize>load<i32>(e, 4), load<i32>(e, 16), <usize>load<i32>(e, 20), <u32>i)) return false;",
    "        e += 32;",
    "        hp += 4;",
    "      }",
    "    }",
    "    store<u8>(CK_SEEN + <usize>r, 1);",
    "  }",
    "  return true;",
    "}",
    "",
    "/**",
    " * A piece from before the reset is corrupted: starts the inference again from task 0 when",
    " * its inputs are intact (0; the restart's commit is dirty), else -2 (write the inputs, begin()).",
    " */",
    "function ck_restart(): i32 {",
    "  ck_from = -1;",
    "  ck_next = -1;",
    `  for (let i = 0; i < ${inputs}; i++) {`,
    "    if (!ck_intact(i)) return -2;",
    "  }",
    "  ck_dirty(ck_commit(CK, 0, ck_id()), <i32>CK_SLOT);",
    "  ck_restarts++;",
    "  ck_sealed = true;",
    "  ck_next = 0;",
    "  ck_done = 0;",
    "  return 0;",
    "}",
    "",
    "// inlined where it is used (step and run), so that the profiling build, whose layer marks",
    "// are imports, is inlined exactly as the shipped one",
    "// @ts-ignore: decorator",
    "@inline function ck_step(commit: i32): i32 {",
    "  ck_dirty_n = 0;",
    "  if (ck_next < 0) return -1;",
    "  if (ck_next >= CK_TASKS) return 0;",
    "  const t = ck_next;",
    "  // after a reset: the saved pieces this task reads must still have their hashes",
    "  if (ck_from >= 0 && !ck_verify(t)) return ck_restart() < 0 ? -2 : CK_TASKS;",
    "  // deferring the commit past a task that overwrites what a resume from ck_done reads",
    "  // would let a torn persist clobber it: commit before it",
    "  if (commit == 0 && load<i32>(CK_WAR + (<usize>t << 2)) >= ck_done) ck_commit_to(t);",
    ...branches,
    "  switch (t) {",
    ...cases,
    "  }",
    `  ${mark}(-1);`,
    "  ck_next = t + 1;",
    "  if (commit != 0) ck_commit_to(ck_next);",
    "  return CK_TASKS - ck_next;",
    "}",
    "",
    "/**",
    " * Starts inference `id` on the inputs the host has written. Nothing is committed yet: the",
    " * inputs' hashes and the record (with `id`) go out with the first commit, and until then",
    " * a reset finds no record of `id`, so the host writes the inputs and begins again.",
    " */",
    "export function begin(id: u32): void {",
    "  ck_read(CK); // the current slot and sequence number, so that the next commit writes the other",
    "  ck_set_id(id);",
    "  ck_dirty_n = 0;",
    "  ck_next = 0;",
    "  ck_done = 0;",
    "  ck_from = -1;",
    "  ck_sealed = false;",
    "}",
    "",
    "/**",
    " * After a reset, once the host has written the saved region back: reads the record and",
    " * checks the inputs and outputs still needed (each task checks the saved pieces it reads",
    " * before it runs). Returns the next task (the task count: done), -1 when no valid record",
    " * exists (call begin()), -2 when an input is corrupted (write it again, then begin()). A",
    " * corrupted intermediate restarts the inference from task 0.",
    " */",
    "export function resume(): i32 {",
    "  const t = ck_read(CK);",
    "  ck_dirty_n = 0;",
    "  ck_next = -1;",
    "  ck_from = -1;",
    "  if (t < 0 || t > CK_TASKS) return -1;",
    `  memory.fill(CK_SEEN, 0, ${Math.max(1, rangeRows.length / 4)});`,
    `  for (let k = 0; k < ${p.eager.length}; k++) {`,
    "    const i = load<i32>(CK_EAGER + (<usize>k << 2));",
    "    const e = CK_PIECES + (<usize>i << 5);",
    "    const w = load<i32>(e, 8), last = load<i32>(e, 12);",
    "    if (w < t && t <= last && !ck_intact(i)) return w < 0 ? -2 : ck_restart();",
    "  }",
    "  ck_next = t;",
    "  ck_done = t;",
    "  ck_from = t;",
    "  ck_sealed = true;",
    "  return t;",
    "}",
    "",
    "/**",
    " * Runs the next task; with commit != 0 then commits the progress (hashing the outputs of",
    " * the tasks since the last commit that later tasks read). With commit == 0 it may still",
    " * commit first, where deferring would be unsafe (CK_WAR). Returns the tasks left (0: the",
    " * outputs are ready; commit the last step), or -1 before begin()/resume(). After a reset,",
    " * a saved piece the task reads that lost its hash restarts the inference from task 0 (the",
    " * task count is returned, the restart's commit is dirty), or returns -2 when the inputs",
    " * are corrupted too (write them again, then begin()).",
    " */",
    "export function step(commit: i32): i32 {",
    "  return ck_step(commit);",
    "}",
    "",
    "/** Commits the progress so far now (after step(0) calls, and after the last one). */",
    "export function commit(): void {",
    "  ck_dirty_n = 0;",
    "  if (ck_next > ck_done) ck_commit_to(ck_next);",
    "}",
    "",
    "/** One inference on steady power: begin() on the inputs written, then every task with a commit. */",
    "export function run(): void {",
    "  begin(ck_id() + 1);",
    "  while (ck_step(1) > 0) {}",
    "}",
    "",
    "/** The ranges to persist after the last begin/resume/step: count, then address and bytes of range i. */",
    "export function dirty_count(): i32 { return ck_dirty_n; }",
    "export function dirty_ptr(i: i32): usize { return <usize>load<i32>(CK_DIRTY + (<usize>i << 3)); }",
    "export function dirty_len(i: i32): i32 { return load<i32>(CK_DIRTY + (<usize>i << 3), 4); }",
    "export function task_count(): i32 { return CK_TASKS; }",
    "/** The id of the inference the record holds (after begin or resume). */",
    "export function inference_id(): u32 { return ck_id(); }",
    "/** The next task (-1 before begin/resume). */",
    "export function next_task(): i32 { return ck_next; }",
    `export function nv_base(): usize { return ${p.nvBase}; }`,
    `export function nv_bytes(): i32 { return ${p.nvBytes}; }`,
    "/** Restarts from task 0 since instantiation because a needed piece was corrupted. */",
    "export function restarts(): i32 { return ck_restarts; }",
  ];
}
