// {{function}}(lat1, lon1, lat2, lon2): the great-circle distance in kilometres between two
// points given in degrees. A scalar function: Lode calls it once per batch of arguments.
//
// componentize-js maps the WIT (wit/guest.wit): interfaces are exported objects, resources
// classes, records objects with camelCase keys, variants `{ tag }`, enums strings, list<u8>
// Uint8Array, i64 BigInt; a function returning result<T, E> returns T or throws E.
// Build: `lode guest build`. Test: `npm test` (node, on the exported function).

// The Earth's mean radius (IUGG), in kilometres.
const EARTH_RADIUS_KM = 6371.0088;
const radians = (degrees) => (degrees * Math.PI) / 180;

/** The great-circle distance between two points, by the haversine formula. */
export function {{function}}(lat1, lon1, lat2, lon2) {
  const halfDPhi = radians(lat2 - lat1) / 2;
  const halfDLambda = radians(lon2 - lon1) / 2;
  const a =
    Math.sin(halfDPhi) ** 2 + Math.cos(radians(lat1)) * Math.cos(radians(lat2)) * Math.sin(halfDLambda) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.sqrt(a));
}

const ARGUMENTS = ["lat1", "lon1", "lat2", "lon2"];
const float64Field = (name) => ({ name, dataType: { tag: "float64" }, nullable: true, children: 0 });

export const module = {
  describe() {
    return {
      name: "{{name}}",
      functions: [
        {
          name: "{{function}}",
          kind: "scalar",
          description: "great-circle distance in km between (lat1, lon1) and (lat2, lon2), in degrees",
          volatility: "immutable",
          signatures: [{ args: ARGUMENTS.map(float64Field), result: [float64Field("km")] }],
        },
      ],
    };
  },
  bindScalar(name, args) {
    if (name !== "{{function}}") throw `no scalar function ${name}`;
    if (args.length !== 4 || args.some((a) => a.dataType.tag !== "float64")) {
      throw `${name} takes four fp64 arguments (${ARGUMENTS.join(", ")})`;
    }
    return { result: [float64Field(name)] };
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

// Column `i` of a batch of float64 columns: its values (copied to an aligned buffer) and
// which rows are valid.
function float64Column(batch, i) {
  const validity = batch.buffers[2 * i];
  const values = new Float64Array(batch.buffers[2 * i + 1].slice().buffer);
  const valid =
    batch.nodes[i].nullCount > 0 ? (row) => ((validity[row >> 3] >> (row & 7)) & 1) === 1 : () => true;
  return { values, valid };
}

// A one-column float64 batch; null is null.
function float64Batch(values) {
  const n = values.length;
  const nulls = values.filter((v) => v === null).length;
  const validity = new Uint8Array(nulls ? (n + 7) >> 3 : 0);
  const data = new Float64Array(n);
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

class Function {
  static open(name, _args) {
    if (name !== "{{function}}") throw `no scalar function ${name}`;
    return new Function();
  }
  call(input) {
    const columns = ARGUMENTS.map((_, i) => float64Column(input, i));
    const km = Array.from({ length: input.numRows }, (_, row) =>
      columns.every((c) => c.valid(row)) ? {{function}}(...columns.map((c) => c.values[row])) : null,
    );
    return float64Batch(km);
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
