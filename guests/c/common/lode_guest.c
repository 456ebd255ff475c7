// Helpers for C guests, and the interfaces a module does not offer. A guest defines the
// functions of the interfaces it offers; define LODE_GUEST_OFFERS_SCALAR (or _AGGREGATE, ...)
// before compiling this file for each one, so the refusals here leave them to the guest.
// Without such a definition every open of that kind refuses, and its methods, which need an
// open resource, cannot be reached.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode_guest.h"

void *allocate(size_t size) {
  void *p = calloc(1, size ? size : 1);
  if (!p) abort();
  return p;
}

void format_string(extension_string_t *out, const char *format, const char *a, const char *b) {
  int length = snprintf(NULL, 0, format, a, b);
  char *text = allocate((size_t)length + 1);
  snprintf(text, (size_t)length + 1, format, a, b);
  out->ptr = (uint8_t *)text;
  out->len = (size_t)length;
}

char *c_string(const extension_string_t *s) {
  char *text = allocate(s->len + 1);
  memcpy(text, s->ptr, s->len);
  return text;
}

const char *type_name(uint8_t tag) {
  static const char *NAMES[] = {"null", "boolean", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "fp32",
                                "fp64", "string", "string", "binary", "binary", "date", "timestamp", "decimal",
                                "list", "struct"};
  return tag < sizeof NAMES / sizeof NAMES[0] ? NAMES[tag] : "unknown";
}

field_t typed_field(const char *name, uint8_t tag) {
  field_t field = {0};
  extension_string_dup(&field.name, name);
  field.data_type.tag = tag;
  field.nullable = true;
  return field;
}

// Appends `text` to the NUL-terminated `list` of capacity `size`, after ", " unless first.
static void append_item(char *list, size_t size, const char *text) {
  size_t used = strlen(list);
  snprintf(list + used, size - used, "%s%s", used ? ", " : "", text);
}

bool check_arg_types(const schema_t *args, uint8_t tag, size_t count, const char *name, extension_string_t *err) {
  size_t given_count = 0;
  bool all_of_tag = true;
  char given[256] = "", expected[256] = "";
  for (size_t i = 0; i < args->len; i += 1 + args->ptr[i].children) {
    all_of_tag = all_of_tag && args->ptr[i].data_type.tag == tag;
    append_item(given, sizeof given, type_name(args->ptr[i].data_type.tag));
    given_count++;
  }
  if (given_count == count && all_of_tag) return true;
  for (size_t i = 0; i < count; i++) append_item(expected, sizeof expected, type_name(tag));
  char *takes = allocate(strlen(name) + strlen(expected) + 16);
  sprintf(takes, "%s takes (%s)", name, expected);
  format_string(err, "%s, not (%s)", takes, given);
  free(takes);
  return false;
}

bool no_such(const char *kind, extension_string_t *name, extension_string_t *err) {
  char *text = c_string(name);
  format_string(err, "this module has no %s %s", kind, text);
  free(text);
  extension_string_free(name);
  return false;
}

bool call_error(lode_guest_types_call_error_t *err, const char *message) {
  err->row.is_some = false;
  extension_string_dup(&err->message, message);
  return false;
}


bool check_fixed_columns(batch_t *input, size_t columns, size_t width, lode_guest_types_call_error_t *err) {
  if (input->nodes.len < columns || input->buffers.len < 2 * columns) {
    lode_guest_arrow_batch_free(input);
    return call_error(err, "the input batch has fewer columns than the function has arguments");
  }
  for (size_t c = 0; c < columns; c++) {
    bool has_nulls = input->nodes.ptr[c].null_count > 0;
    if (input->buffers.ptr[2 * c + 1].len < (size_t)input->num_rows * width ||
        (has_nulls && input->buffers.ptr[2 * c].len < ((size_t)input->num_rows + 7) / 8)) {
      lode_guest_arrow_batch_free(input);
      return call_error(err, "an input column's buffers are shorter than the batch");
    }
  }
  return true;
}

bool fixed_at(const batch_t *batch, size_t column, uint32_t row, void *value, size_t width) {
  const extension_list_u8_t *validity = &batch->buffers.ptr[2 * column];
  const extension_list_u8_t *values = &batch->buffers.ptr[2 * column + 1];
  if (batch->nodes.ptr[column].null_count > 0 && !(validity->ptr[row / 8] >> (row % 8) & 1)) return false;
  memcpy(value, values->ptr + (size_t)row * width, width);
  return true;
}

void one_column_batch(batch_t *ret, uint32_t rows, uint32_t nulls, uint8_t *validity, void *values, size_t width) {
  ret->num_rows = rows;
  ret->nodes.len = 1;
  ret->nodes.ptr = allocate(sizeof(lode_guest_arrow_node_t));
  ret->nodes.ptr[0] = (lode_guest_arrow_node_t){.length = rows, .null_count = nulls};
  ret->buffers.len = 2;
  ret->buffers.ptr = allocate(2 * sizeof(extension_list_u8_t));
  if (nulls > 0) {
    ret->buffers.ptr[0] = (extension_list_u8_t){validity, ((size_t)rows + 7) / 8};
  } else {
    free(validity);  // an empty validity buffer: no nulls
  }
  ret->buffers.ptr[1] = (extension_list_u8_t){(uint8_t *)values, (size_t)rows * width};
}

// The interfaces a guest does not offer: every open refuses, and the methods, which need
// an open resource, cannot be reached.

static bool unreachable_method(lode_guest_types_call_error_t *err) {
  err->row.is_some = false;
  extension_string_dup(&err->message, "this module opens no such resource");
  return false;
}

#ifndef LODE_GUEST_OFFERS_AGGREGATE
struct exports_lode_guest_aggregate_accumulator_t {
  char unused;
};

bool exports_lode_guest_module_bind_aggregate(extension_string_t *name, exports_lode_guest_module_schema_t *args,
                                              exports_lode_guest_module_aggregate_binding_t *ret,
                                              extension_string_t *err) {
  (void)ret;
  lode_guest_arrow_schema_free(args);
  return no_such("aggregate", name, err);
}

bool exports_lode_guest_aggregate_static_accumulator_open(extension_string_t *name,
                                                          exports_lode_guest_aggregate_schema_t *args,
                                                          exports_lode_guest_aggregate_own_accumulator_t *ret,
                                                          extension_string_t *err) {
  (void)ret;
  lode_guest_arrow_schema_free(args);
  return no_such("aggregate", name, err);
}

void exports_lode_guest_aggregate_accumulator_destructor(exports_lode_guest_aggregate_accumulator_t *rep) {
  free(rep);
}

bool exports_lode_guest_aggregate_method_accumulator_update(exports_lode_guest_aggregate_borrow_accumulator_t self,
                                                            extension_list_u32_t *groups, uint32_t total_groups,
                                                            exports_lode_guest_aggregate_batch_t *input,
                                                            exports_lode_guest_aggregate_call_error_t *err) {
  (void)self, (void)total_groups;
  extension_list_u32_free(groups);
  lode_guest_arrow_batch_free(input);
  return unreachable_method(err);
}

bool exports_lode_guest_aggregate_method_accumulator_merge(exports_lode_guest_aggregate_borrow_accumulator_t self,
                                                           extension_list_u32_t *groups, uint32_t total_groups,
                                                           exports_lode_guest_aggregate_batch_t *states,
                                                           exports_lode_guest_aggregate_call_error_t *err) {
  (void)self, (void)total_groups;
  extension_list_u32_free(groups);
  lode_guest_arrow_batch_free(states);
  return unreachable_method(err);
}

bool exports_lode_guest_aggregate_method_accumulator_state(exports_lode_guest_aggregate_borrow_accumulator_t self,
                                                           uint32_t *maybe_count,
                                                           exports_lode_guest_aggregate_batch_t *ret,
                                                           exports_lode_guest_aggregate_call_error_t *err) {
  (void)self, (void)maybe_count, (void)ret;
  return unreachable_method(err);
}

bool exports_lode_guest_aggregate_method_accumulator_evaluate(exports_lode_guest_aggregate_borrow_accumulator_t self,
                                                              uint32_t *maybe_count,
                                                              exports_lode_guest_aggregate_batch_t *ret,
                                                              exports_lode_guest_aggregate_call_error_t *err) {
  (void)self, (void)maybe_count, (void)ret;
  return unreachable_method(err);
}
#endif

#ifndef LODE_GUEST_OFFERS_TABLE
struct exports_lode_guest_table_generator_t {
  char unused;
};

bool exports_lode_guest_module_bind_table(extension_string_t *name, exports_lode_guest_module_schema_t *arg_types,
                                          exports_lode_guest_module_batch_t *args, extension_list_u8_t *config,
                                          exports_lode_guest_module_relation_binding_t *ret, extension_string_t *err) {
  (void)ret;
  lode_guest_arrow_schema_free(arg_types);
  lode_guest_arrow_batch_free(args);
  extension_list_u8_free(config);
  return no_such("table function", name, err);
}

bool exports_lode_guest_table_static_generator_open(extension_string_t *name, exports_lode_guest_table_schema_t *arg_types,
                                                    exports_lode_guest_table_batch_t *args, extension_list_u8_t *config,
                                                    uint32_t partition, exports_lode_guest_table_own_generator_t *ret,
                                                    extension_string_t *err) {
  (void)partition, (void)ret;
  lode_guest_arrow_schema_free(arg_types);
  lode_guest_arrow_batch_free(args);
  extension_list_u8_free(config);
  return no_such("table function", name, err);
}

void exports_lode_guest_table_generator_destructor(exports_lode_guest_table_generator_t *rep) { free(rep); }

bool exports_lode_guest_table_method_generator_next(exports_lode_guest_table_borrow_generator_t self,
                                                    exports_lode_guest_table_option_batch_t *ret,
                                                    exports_lode_guest_table_call_error_t *err) {
  (void)self, (void)ret;
  return unreachable_method(err);
}
#endif

#ifndef LODE_GUEST_OFFERS_OPERATOR
struct exports_lode_guest_operators_instance_t {
  char unused;
};

bool exports_lode_guest_module_bind_operator(extension_string_t *name, exports_lode_guest_module_list_schema_t *inputs,
                                             extension_list_u8_t *config,
                                             exports_lode_guest_module_relation_binding_t *ret,
                                             extension_string_t *err) {
  (void)ret;
  exports_lode_guest_module_list_schema_free(inputs);
  extension_list_u8_free(config);
  return no_such("operator", name, err);
}

bool exports_lode_guest_operators_static_instance_open(extension_string_t *name,
                                                       exports_lode_guest_operators_list_schema_t *inputs,
                                                       extension_list_u8_t *config, uint32_t partition,
                                                       exports_lode_guest_operators_own_instance_t *ret,
                                                       extension_string_t *err) {
  (void)partition, (void)ret;
  exports_lode_guest_operators_list_schema_free(inputs);
  extension_list_u8_free(config);
  return no_such("operator", name, err);
}

void exports_lode_guest_operators_instance_destructor(exports_lode_guest_operators_instance_t *rep) { free(rep); }

bool exports_lode_guest_operators_method_instance_push(exports_lode_guest_operators_borrow_instance_t self,
                                                       uint32_t input, exports_lode_guest_operators_batch_t *batch,
                                                       exports_lode_guest_operators_list_batch_t *ret,
                                                       exports_lode_guest_operators_call_error_t *err) {
  (void)self, (void)input, (void)ret;
  lode_guest_arrow_batch_free(batch);
  return unreachable_method(err);
}

bool exports_lode_guest_operators_method_instance_finish(exports_lode_guest_operators_borrow_instance_t self,
                                                         exports_lode_guest_operators_list_batch_t *ret,
                                                         exports_lode_guest_operators_call_error_t *err) {
  (void)self, (void)ret;
  return unreachable_method(err);
}
#endif
