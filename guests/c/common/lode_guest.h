// Helpers for C guests, and the interfaces a module does not offer (lode_guest.c).
//
// Bindings come from `wit-bindgen c` (extension.h). Their rules of ownership: arguments
// belong to the callee, which frees them; results are freed by the bindings after the host
// copied them, so every string and list returned is malloc'd.

#ifndef LODE_GUEST_H
#define LODE_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "extension.h"

typedef lode_guest_arrow_field_t field_t;
typedef lode_guest_arrow_schema_t schema_t;
typedef lode_guest_arrow_batch_t batch_t;

// calloc that never returns NULL: out of memory inside a guest is a trap the host reports.
void *allocate(size_t size);

// A malloc'd string formatted like printf with two string arguments.
void format_string(extension_string_t *out, const char *format, const char *a, const char *b);

// A string argument as a NUL-terminated copy (WIT strings are not terminated).
char *c_string(const extension_string_t *s);

// The Substrait name of an Arrow type tag (LODE_GUEST_ARROW_DATA_TYPE_*).
const char *type_name(uint8_t tag);

// A nullable field `name` of the type with this tag (LODE_GUEST_ARROW_DATA_TYPE_*).
field_t typed_field(const char *name, uint8_t tag);

// Whether `args` are `count` top-level fields, all of the type with `tag`; if not, `err` says
// what the function `name` takes and what it was given, as the Rust SDK does:
// "gcd takes (i64, i64), not (i32, i64)".
bool check_arg_types(const schema_t *args, uint8_t tag, size_t count, const char *name, extension_string_t *err);

// Sets `err` to "this module has no KIND NAME", frees `name`, and returns false.
bool no_such(const char *kind, extension_string_t *name, extension_string_t *err);

// A call error (no row) with `message`; returns false.
bool call_error(lode_guest_types_call_error_t *err, const char *message);

// Whether the first `columns` columns of `input` are fixed-width columns of `width`-byte
// values with buffers as long as the batch; if not, sets `err`, frees `input` and returns false.
bool check_fixed_columns(batch_t *input, size_t columns, size_t width, lode_guest_types_call_error_t *err);

// Copies row `row` of fixed-width column `column` (`width` bytes a value) into `value`;
// false when it is null. Buffers are byte lists with no alignment promise, hence memcpy.
bool fixed_at(const batch_t *batch, size_t column, uint32_t row, void *value, size_t width);

// Fills `ret` with one fixed-width column of `rows` values (`width` bytes each) of which
// `nulls` are null, taking `validity` and `values` (both from `allocate`) as its buffers.
void one_column_batch(batch_t *ret, uint32_t rows, uint32_t nulls, uint8_t *validity, void *values, size_t width);

#endif
