// sentiment(text) -> struct<positive, negative, neutral, compound> in JavaScript: the same
// function as guests/sentiment (scoreText follows its score.rs step for step, so both give
// the same floats). See gcd.js for how componentize-js maps the WIT.

const LEXICON = new Map(Object.entries({
  amazing: 2.8, angry: -2.3, annoying: -1.9, awesome: 3.1, awful: -2.9,
  bad: -2.5, beautiful: 2.9, best: 3.2, boring: -1.8, brilliant: 2.8,
  broken: -2.0, cool: 1.3, crap: -2.2, delightful: 2.9, disappointing: -2.2,
  dumb: -2.3, excellent: 3.2, fail: -2.5, fantastic: 2.9, fine: 0.8,
  fun: 2.3, garbage: -2.6, glad: 2.0, good: 1.9, great: 3.1, hate: -2.7,
  helpful: 1.8, horrible: -2.5, interesting: 1.7, lame: -1.8, love: 3.2,
  meh: -0.5, nice: 1.8, perfect: 2.7, pointless: -1.8, poor: -2.1, sad: -2.1,
  slow: -1.0, smart: 1.7, stupid: -2.4, superb: 3.1, terrible: -2.9,
  thanks: 1.9, ugly: -2.3, useful: 1.9, useless: -2.2, wonderful: 2.7,
  worst: -3.1, wow: 2.0, wrong: -2.1,
}));
const NEGATIONS = new Set(["never", "no", "not", "nothing", "nobody", "isn't", "don't", "doesn't", "wasn't", "can't"]);
const BOOSTERS = new Set(["extremely", "incredibly", "really", "so", "totally", "very"]);
// VADER's normalization constant: compound = s / sqrt(s^2 + ALPHA).
const ALPHA = 15.0;
const SCORES = ["positive", "negative", "neutral", "compound"];

// Rust's f64::signum: -1 for negative numbers and -0, else 1.
const signum = (x) => (x < 0 || Object.is(x, -0) ? -1 : 1);
// Rust's char::is_alphanumeric (Alphabetic or Numeric) as near as this engine gets without
// Unicode property escapes in its regular expressions: ASCII letters and digits, and other
// characters that have case. Uncased letters (CJK, Arabic, ...) and non-ASCII digits are
// dropped here but kept by the Rust guest; the scores of ASCII text are identical.
const kept = (c) => /[0-9A-Za-z']/.test(c) || (c > "\x7f" && c.toLowerCase() !== c.toUpperCase());

function scoreText(text) {
  let [sum, positive, negative, neutral] = [0, 0, 0, 0];
  let [negate, boost] = [false, 0];
  for (const token of text.split(/\s+/)) {
    const word = Array.from(token).filter(kept).join("").toLowerCase();
    if (NEGATIONS.has(word)) {
      negate = true;
      continue;
    }
    if (BOOSTERS.has(word)) {
      boost += 0.3;
      continue;
    }
    let v = LEXICON.get(word);
    if (v !== undefined) {
      v = v + boost * signum(v);
      if (negate) v *= -0.74;
      sum += v;
      if (v > 0) positive += v;
      else negative -= v;
      [negate, boost] = [false, 0];
    } else if (word !== "") {
      neutral += 1;
    }
  }
  const exclamations = Math.min(text.split("!").length - 1, 4);
  if (sum !== 0) sum += exclamations * 0.292 * signum(sum);
  const total = positive + negative + neutral;
  const share = (x) => (total > 0 ? x / total : 0);
  return [share(positive), share(negative), share(neutral), sum / Math.sqrt(sum * sum + ALPHA)];
}

const field = (name, tag, children = 0) => ({ name, dataType: { tag }, nullable: true, children });
const scoresType = (name) => [field(name, "struct", SCORES.length), ...SCORES.map((s) => field(s, "float64"))];

export const module = {
  describe() {
    return {
      name: "sentiment-js",
      functions: [
        {
          name: "sentiment",
          kind: "scalar",
          description:
            "lexicon-based sentiment of a text: shares of positive, negative and neutral words, and a compound score in [-1, 1]",
          volatility: "immutable",
          signatures: [{ args: [field("arg0", "utf8")], result: scoresType("result") }],
        },
      ],
    };
  },
  bindScalar(name, args) {
    if (name !== "sentiment") throw `no scalar function ${name}`;
    if (args.length !== 1 || args[0].dataType.tag !== "utf8") throw "sentiment takes (string)";
    return { result: scoresType(name) };
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

const decoder = new TextDecoder();

// Column 0 of a batch of utf8 columns (i32 offsets): its strings, null for nulls.
function utf8Values(batch) {
  const node = batch.nodes[0];
  const [validity, offsets, data] = batch.buffers;
  const starts = new Int32Array(offsets.slice().buffer);
  const valid = (row) => node.nullCount === 0 || ((validity[row >> 3] >> (row & 7)) & 1) === 1;
  return Array.from({ length: node.length }, (_, row) =>
    valid(row) ? decoder.decode(data.subarray(starts[row], starts[row + 1])) : null,
  );
}

// A one-column batch of struct<positive, negative, neutral, compound>; null rows are null
// structs with null fields.
function scoresBatch(rows) {
  const n = rows.length;
  const nulls = rows.filter((r) => r === null).length;
  const validity = new Uint8Array(nulls ? (n + 7) >> 3 : 0);
  if (nulls) rows.forEach((r, row) => r !== null && (validity[row >> 3] |= 1 << (row & 7)));
  const nodes = Array.from({ length: SCORES.length + 1 }, () => ({ length: n, nullCount: nulls }));
  const buffers = [validity];
  SCORES.forEach((_, i) => {
    const values = new Float64Array(rows.map((r) => (r === null ? 0 : r[i])));
    buffers.push(validity, new Uint8Array(values.buffer));
  });
  return { numRows: n, nodes, buffers };
}

class Function {
  static open(name, _args) {
    if (name !== "sentiment") throw `no scalar function ${name}`;
    return new Function();
  }
  call(input) {
    return scoresBatch(utf8Values(input).map((text) => (text === null ? null : scoreText(text))));
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
