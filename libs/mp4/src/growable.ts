// Append-only typed arrays for per-sample tables (a few bytes per sample, never per byte of media).

type TypedCtor<T> = { new (n: number): T };

class Growable<T extends Float64Array | Uint32Array | Int32Array> {
  private data: T;
  length = 0;

  constructor(
    private readonly Ctor: TypedCtor<T>,
    initial = 1024,
  ) {
    this.data = new Ctor(initial);
  }

  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new this.Ctor(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }

  get(i: number): number {
    return this.data[i]!;
  }

  set(i: number, v: number): void {
    this.data[i] = v;
  }

  /** Drops the last `n` values. */
  pop(n = 1): void {
    this.length = Math.max(0, this.length - n);
  }

  /** A view of the values pushed so far (shares memory until the next push). */
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }
}

export class GrowableF64 extends Growable<Float64Array> {
  constructor(initial?: number) {
    super(Float64Array, initial);
  }
}

export class GrowableU32 extends Growable<Uint32Array> {
  constructor(initial?: number) {
    super(Uint32Array, initial);
  }
}

export class GrowableI32 extends Growable<Int32Array> {
  constructor(initial?: number) {
    super(Int32Array, initial);
  }
}
