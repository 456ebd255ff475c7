// gcd(i64, i64) -> i64 and noop(i64) -> i64 in JavaScript: the same functions as guests/gcd.
// componentize-js maps the WIT: interfaces are exported objects, resources classes, records
// objects with camelCase keys, variants `{ tag }`, list<u8> Uint8Array, i64 BigInt; a function
// returning result<T, E> returns T or throws E.

const int64Field = (name) => ({ name, dataType: { tag: "int64" }, nullable: true, children: 0 });

const FUNCTIONS = {
  gcd: { description: "greatest common divisor of two integers", args: 2 },
  noop: { description: "returns its argument", args: 1 },
};

const signature = (args) => ({
  args: Array.from({ length: args }, (_, i) => int64Field(`arg${i}`)),
  result: [int64Field("result")],
});

export const module = {
  describe() {
    return {
      name: "gcd-js",
      functions: Object.entries(FUNCTIONS).map(([name, f]) => ({
        name,
        kind: "scalar",
        description: f.description,
        volatility: "immutable",
        signatures: [signature(f.args)],
      })),
    };
  },
  bindScalar(name, _args) {
    if (!(name in FUNCTIONS)) throw `no scalar function ${name}`;
    return { result: [int64Field(name)] };
  },
  bindAggregate(name) {
    throw `no aggregate ${name}`;
  },
  bindTable(name) {
    throw `no table function ${name}`;
  },
  bindOperator(name) {
    throw `no operator ${name}`;
  },
};

// One int64 column of a batch: values (copied to an aligned buffer) and validity.
function int64Column(batch, i) {
  const node = batch.nodes[i];
  const validity = batch.buffers[2 * i];
  const values = new BigInt64Array(batch.buffers[2 * i + 1].slice().buffer);
  const valid = node.nullCount > 0 ? (row) => ((validity[row >> 3] >> (row & 7)) & 1) === 1 : () => true;
  return { values, valid };
}

// A one-column int64 batch; null is null.
function int64Batch(values) {
  const n = values.length;
  const nulls = values.filter((v) => v === null).length;
  const validity = new Uint8Array(nulls ? (n + 7) >> 3 : 0);
  const data = new BigInt64Array(n);
  values.forEach((v, row) => {
    if (v !== null) {
      data[row] = v;
      if (nulls) validity[row >> 3] |= 1 << (row & 7);
    }
  });
  return {
    numRows: n,
    nodes: [{ length: n, nullCount: nulls }],
    buffers: [validity, new Uint8Array(data.buffer)],
  };
}

function gcd(a, b) {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b !== 0n) [a, b] = [b, a % b];
  // i64::MIN has no positive i64; the Rust guest wraps it the same way.
  return BigInt.asIntN(64, a);
}

class Function {
  constructor(name) {
    this.name = name;
  }
  static open(name, _args) {
    if (!(name in FUNCTIONS)) throw `no scalar function ${name}`;
    return new Function(name);
  }
  call(input) {
    const rows = Array.from({ length: input.numRows }, (_, r) => r);
    const a = int64Column(input, 0);
    if (this.name === "noop") return int64Batch(rows.map((r) => (a.valid(r) ? a.values[r] : null)));
    const b = int64Column(input, 1);
    return int64Batch(rows.map((r) => (a.valid(r) && b.valid(r) ? gcd(a.values[r], b.values[r]) : null)));
  }
}

const none = (kind) =>
  class {
    static open(name) {
      throw `this module has no ${kind} ${name}`;
    }
  };

export const scalar = { Function };
export const aggregate = { Accumulator: none("aggregate") };
export const table = { Generator: none("table function") };
export const operators = { Instance: none("operator") };
