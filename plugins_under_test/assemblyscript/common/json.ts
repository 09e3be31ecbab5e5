// Minimal JSON reader for the flat configuration objects of the sample plugins.
// AssemblyScript 0.14 has no JSON support, so this file parses just enough:
// a top-level object whose values may be strings, arrays, nested objects,
// numbers, true, false or null. Strings keep their decoded text; other kinds
// are validated and remembered only by kind.

export const KIND_STRING: i32 = 0;
export const KIND_ARRAY: i32 = 1;
export const KIND_OBJECT: i32 = 2;
export const KIND_NUMBER: i32 = 3;
export const KIND_BOOL: i32 = 4;
export const KIND_NULL: i32 = 5;

export class JsonValue {
  kind: i32;
  text: string = "";
  items: Array<JsonValue> = new Array<JsonValue>();
  keys: Array<string> = new Array<string>();

  constructor(kind: i32) {
    this.kind = kind;
  }

  // Value of `key` in an object, or null when absent (the last duplicate wins).
  get(key: string): JsonValue | null {
    for (let i = this.keys.length - 1; i >= 0; i--) {
      if (this.keys[i] == key) return this.items[i];
    }
    return null;
  }
}

function isSpace(c: i32): bool {
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
}

function hexDigit(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

class Reader {
  src: string;
  pos: i32 = 0;
  failed: bool = false;

  constructor(src: string) {
    this.src = src;
  }

  peek(): i32 {
    if (this.pos >= this.src.length) return -1;
    return this.src.charCodeAt(this.pos);
  }

  skipSpace(): void {
    while (this.pos < this.src.length && isSpace(this.src.charCodeAt(this.pos))) this.pos++;
  }

  fail(): JsonValue {
    this.failed = true;
    return new JsonValue(KIND_NULL);
  }

  literal(word: string, value: JsonValue): JsonValue {
    if (this.src.substr(this.pos, word.length) != word) return this.fail();
    this.pos += word.length;
    return value;
  }

  readString(): string {
    // The opening quote is at this.pos.
    this.pos++;
    let out = "";
    let start = this.pos;
    while (true) {
      if (this.pos >= this.src.length) {
        this.failed = true;
        return "";
      }
      let c = this.src.charCodeAt(this.pos);
      if (c == 0x22) {
        out += this.src.substring(start, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) {
        this.failed = true;
        return "";
      }
      if (c == 0x5c) {
        out += this.src.substring(start, this.pos);
        this.pos++;
        if (this.pos >= this.src.length) {
          this.failed = true;
          return "";
        }
        let e = this.src.charCodeAt(this.pos);
        this.pos++;
        if (e == 0x22) out += "\"";
        else if (e == 0x5c) out += "\\";
        else if (e == 0x2f) out += "/";
        else if (e == 0x62) out += "\b";
        else if (e == 0x66) out += "\f";
        else if (e == 0x6e) out += "\n";
        else if (e == 0x72) out += "\r";
        else if (e == 0x74) out += "\t";
        else if (e == 0x75) {
          let code = 0;
          for (let k = 0; k < 4; k++) {
            let d = this.pos < this.src.length ? hexDigit(this.src.charCodeAt(this.pos)) : -1;
            if (d < 0) {
              this.failed = true;
              return "";
            }
            code = code * 16 + d;
            this.pos++;
          }
          out += String.fromCharCode(code);
        } else {
          this.failed = true;
          return "";
        }
        start = this.pos;
        continue;
      }
      this.pos++;
    }
    return out;
  }

  readNumber(): JsonValue {
    let start = this.pos;
    if (this.peek() == 0x2d) this.pos++;
    let digits = 0;
    while (this.peek() >= 0x30 && this.peek() <= 0x39) {
      this.pos++;
      digits++;
    }
    if (digits == 0) return this.fail();
    if (this.peek() == 0x2e) {
      this.pos++;
      let frac = 0;
      while (this.peek() >= 0x30 && this.peek() <= 0x39) {
        this.pos++;
        frac++;
      }
      if (frac == 0) return this.fail();
    }
    if (this.peek() == 0x65 || this.peek() == 0x45) {
      this.pos++;
      if (this.peek() == 0x2b || this.peek() == 0x2d) this.pos++;
      let exp = 0;
      while (this.peek() >= 0x30 && this.peek() <= 0x39) {
        this.pos++;
        exp++;
      }
      if (exp == 0) return this.fail();
    }
    let v = new JsonValue(KIND_NUMBER);
    v.text = this.src.substring(start, this.pos);
    return v;
  }

  readValue(depth: i32): JsonValue {
    if (depth > 32) return this.fail();
    this.skipSpace();
    let c = this.peek();
    if (c == 0x22) {
      let v = new JsonValue(KIND_STRING);
      v.text = this.readString();
      return v;
    }
    if (c == 0x7b) return this.readObject(depth);
    if (c == 0x5b) return this.readArray(depth);
    if (c == 0x74) return this.literal("true", new JsonValue(KIND_BOOL));
    if (c == 0x66) return this.literal("false", new JsonValue(KIND_BOOL));
    if (c == 0x6e) return this.literal("null", new JsonValue(KIND_NULL));
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.readNumber();
    return this.fail();
  }

  readArray(depth: i32): JsonValue {
    let v = new JsonValue(KIND_ARRAY);
    this.pos++;
    this.skipSpace();
    if (this.peek() == 0x5d) {
      this.pos++;
      return v;
    }
    while (!this.failed) {
      v.items.push(this.readValue(depth + 1));
      if (this.failed) break;
      this.skipSpace();
      let c = this.peek();
      this.pos++;
      if (c == 0x5d) return v;
      if (c != 0x2c) return this.fail();
    }
    return v;
  }

  readObject(depth: i32): JsonValue {
    let v = new JsonValue(KIND_OBJECT);
    this.pos++;
    this.skipSpace();
    if (this.peek() == 0x7d) {
      this.pos++;
      return v;
    }
    while (!this.failed) {
      this.skipSpace();
      if (this.peek() != 0x22) return this.fail();
      let key = this.readString();
      if (this.failed) break;
      this.skipSpace();
      if (this.peek() != 0x3a) return this.fail();
      this.pos++;
      let item = this.readValue(depth + 1);
      if (this.failed) break;
      v.keys.push(key);
      v.items.push(item);
      this.skipSpace();
      let c = this.peek();
      this.pos++;
      if (c == 0x7d) return v;
      if (c != 0x2c) return this.fail();
    }
    return v;
  }
}

// Parses `text` as a JSON object. Returns null when it is not valid JSON or
// not an object.
export function parseJsonObject(text: string): JsonValue | null {
  let reader = new Reader(text);
  reader.skipSpace();
  if (reader.peek() != 0x7b) return null;
  let value = reader.readValue(0);
  if (reader.failed) return null;
  reader.skipSpace();
  if (reader.pos != text.length) return null;
  return value;
}

// The string member `key` of `obj`, or null when absent or not a string.
export function stringMember(obj: JsonValue, key: string): string | null {
  let v = obj.get(key);
  if (v === null) return null;
  if (v.kind != KIND_STRING) return null;
  return v.text;
}
