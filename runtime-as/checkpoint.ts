// The checkpoint runtime of --intermittent modules (compiler/emit/intermittent.ts generates
// the code that calls it; docs/intermittent.md is the host's side of the contract).
// Inference is a fixed list of idempotent tasks. Its progress lives in a record at the end of
// the non-volatile region: two 12-byte slots, each [sequence number (8 bits) and next task (24
// bits) in one word, inference id, hash of the two words]. A commit writes the slot that is
// not current, its hash last: until that last store lands the older slot is the valid one
// with the later sequence number, so a power failure at any point of a commit, even one
// that tears a 32-bit store, leaves one valid record (double buffering with a two-phase
// commit: write the shadow, then validate it). After the record come one 32-bit hash per "piece" (a task's output ranges, or an
// input) and one per split layer's whole output: after a reset the module re-hashes the
// pieces still needed before they are read and restarts the inference from its first task
// when one differs (a corrupted region never yields an answer), or reports the input lost
// when an input does.
// The hash (ck_hash_ranges) is for detecting corruption, not an adversary: cheap enough to
// run over every output a task writes (about two wasm instructions per byte), one pass over
// all the ranges of a piece.

const MIX: u32 = 0x9E3779B1;
const SEED: u32 = 0x50494A32; // "PIJ2" (the 12-byte slots; "PIJ1" seeded the 16-byte ones)

/** The bytes of one slot of the record. */
export const CK_SLOT: usize = 12;
/** The record's bytes before the piece hashes: two slots. */
export const CK_SLOTS: usize = 24;

/**
 * Hash of `count` ranges of n bytes, `stride` bytes apart from p (any alignment), seeded by
 * `seed`: two running sums of 32-bit words over all the ranges (Fletcher-style, modulo 2^32:
 * the first catches any changed word, the second also reordered ones), four words per pass
 * where a range is long, a range's last 1 to 3 bytes as one word, then one multiplicative
 * finalizer. Tiles of one-dimensional layers write a few bytes per channel, so the cost per
 * range matters as much as the cost per byte.
 */
export function ck_hash_ranges(p: usize, n: usize, count: i32, stride: usize, seed: u32): u32 {
  let a: u32 = seed, b: u32 = <u32>n ^ (<u32>count << 16);
  const n16 = n & ~15, n4 = n & ~3, r = n & 3;
  for (let k = 0; k < count; k++) {
    let q = p;
    if (n16 != 0) {
      const end16 = p + n16;
      do {
        a += load<u32>(q); b += a;
        a += load<u32>(q, 4); b += a;
        a += load<u32>(q, 8); b += a;
        a += load<u32>(q, 12); b += a;
        q += 16;
      } while (q < end16);
    }
    const end4 = p + n4;
    while (q < end4) {
      a += load<u32>(q); b += a;
      q += 4;
    }
    if (r != 0) {
      let v = <u32>load<u8>(q);
      if (r > 1) v |= <u32>load<u8>(q, 1) << 8;
      if (r > 2) v |= <u32>load<u8>(q, 2) << 16;
      a += v; b += a;
    }
    p += stride;
  }
  let h = (a ^ rotl<u32>(b, 16)) * MIX;
  h = (h ^ (h >>> 15) ^ b) * MIX;
  return h ^ (h >>> 13);
}

// volatile state, rebuilt by ck_read after every reset: the current slot (-1: none) and its contents
let cur: i32 = -1;
let seq: u32 = 0;
let ident: u32 = 0;

/**
 * Hash of a slot's two words: a multiply-xorshift mix of each in turn (no loop: the record
 * is read at every begin and resume and written at every commit). Each step is a bijection
 * of the word it takes in, so a change of one word always changes the hash (a commit torn
 * after its first store leaves the new first word beside the old id and hash); a change of
 * both matches with probability about 2^-32.
 */
@inline function slotHash(w0: u32, w1: u32): u32 {
  let h = (SEED ^ w0) * MIX;
  h = (rotl<u32>(h, 13) ^ w1) * MIX;
  h = (h ^ (h >>> 15)) * MIX;
  return h ^ (h >>> 13);
}

@inline function slotValid(s: usize): bool {
  return slotHash(load<u32>(s), load<u32>(s, 4)) == load<u32>(s, 8);
}

/** Reads the record at ck: the next task to run, or -1 when neither slot is valid. */
export function ck_read(ck: usize): i32 {
  const a = slotValid(ck), b = slotValid(ck + CK_SLOT);
  if (!a && !b) { cur = -1; return -1; }
  // both valid: the later one. Commits alternate between the slots, so two valid slots hold
  // consecutive sequence numbers (modulo 2^8): the later one is one more than the other.
  const useB = b && (!a || (((load<u32>(ck + CK_SLOT) >>> 24) - (load<u32>(ck) >>> 24)) & 0x80) == 0);
  cur = useB ? 1 : 0;
  const w = load<u32>(ck + (useB ? CK_SLOT : 0));
  seq = w >>> 24;
  ident = load<u32>(ck + (useB ? CK_SLOT : 0), 4);
  return <i32>(w & 0xFFFFFF);
}

/** Commits `next` (below 2^24; and inference id `id`) into the shadow slot; returns the slot's address. */
export function ck_commit(ck: usize, next: i32, id: u32): usize {
  const shadow = cur == 0 ? 1 : 0;
  const s = ck + (shadow != 0 ? CK_SLOT : 0);
  const q = (seq + 1) & 0xFF, w = (q << 24) | <u32>next;
  store<u32>(s, w);
  store<u32>(s, id, 4);
  store<u32>(s, slotHash(w, id), 8); // the commit point
  cur = shadow;
  seq = q;
  ident = id;
  return s;
}

/** Sets the inference id the next commit writes (begin() of a new inference). */
export function ck_set_id(id: u32): void {
  ident = id;
}

/** The inference id of the record read or written last. */
export function ck_id(): u32 {
  return ident;
}

/** Stores the hash of piece i in the table after the slots. */
export function ck_seal(ck: usize, i: i32, p: usize, n: usize, count: i32, stride: usize): void {
  store<u32>(ck + CK_SLOTS + (<usize>i << 2), ck_hash_ranges(p, n, count, stride, <u32>i));
}

/** Whether piece i still has the hash it was sealed with. */
export function ck_check(ck: usize, i: i32, p: usize, n: usize, count: i32, stride: usize): bool {
  return load<u32>(ck + CK_SLOTS + (<usize>i << 2)) == ck_hash_ranges(p, n, count, stride, <u32>i);
}
