// {{function}}(lat1, lon1, lat2, lon2): the great-circle distance in kilometres between two
// points given in degrees. A scalar function: Lode calls it once per batch of arguments.
//
// Bindings come from `wit-bindgen c` (extension.h, made by `lode guest build`); helpers and
// the interfaces this module does not offer are in lode_sdk/ (lode_guest.h). The function
// itself is in logic.c. Test: see test_logic.c.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode_guest.h"
#include "logic.h"

static const char *const NAME = "{{function}}";
static const char *const ARGUMENTS[] = {"lat1", "lon1", "lat2", "lon2"};
#define ARGUMENT_COUNT 4

struct exports_lode_guest_scalar_function_t {
  char unused;
};

static bool is_name(const extension_string_t *name) {
  return strlen(NAME) == name->len && memcmp(NAME, name->ptr, name->len) == 0;
}

static schema_t one_field(const char *name) {
  schema_t schema = {allocate(sizeof(field_t)), 1};
  schema.ptr[0] = typed_field(name, LODE_GUEST_ARROW_DATA_TYPE_FLOAT64);
  return schema;
}

// Whether `args` are four fp64 arguments; if not, `err` says what was given.
static bool check_args(const schema_t *args, extension_string_t *err) {
  return check_arg_types(args, LODE_GUEST_ARROW_DATA_TYPE_FLOAT64, ARGUMENT_COUNT, NAME, err);
}

void exports_lode_guest_module_describe(exports_lode_guest_module_module_info_t *ret) {
  extension_string_dup(&ret->name, "{{name}}");
  ret->functions.len = 1;
  ret->functions.ptr = allocate(sizeof(lode_guest_types_function_info_t));
  lode_guest_types_function_info_t *info = &ret->functions.ptr[0];
  extension_string_dup(&info->name, NAME);
  extension_string_dup(&info->description,
                       "great-circle distance in km between (lat1, lon1) and (lat2, lon2), in degrees");
  info->kind = LODE_GUEST_TYPES_KIND_SCALAR;
  info->volatility = LODE_GUEST_TYPES_VOLATILITY_IMMUTABLE;
  info->signatures.len = 1;
  info->signatures.ptr = allocate(sizeof(lode_guest_types_signature_t));
  schema_t args = {allocate(ARGUMENT_COUNT * sizeof(field_t)), ARGUMENT_COUNT};
  for (size_t i = 0; i < ARGUMENT_COUNT; i++) args.ptr[i] = typed_field(ARGUMENTS[i], LODE_GUEST_ARROW_DATA_TYPE_FLOAT64);
  info->signatures.ptr[0].args = args;
  info->signatures.ptr[0].result = one_field("km");
}

bool exports_lode_guest_module_bind_scalar(extension_string_t *name, exports_lode_guest_module_schema_t *args,
                                           exports_lode_guest_module_scalar_binding_t *ret, extension_string_t *err) {
  bool known = is_name(name);
  bool bound = known && check_args(args, err);
  if (bound) ret->result = one_field(NAME);
  lode_guest_arrow_schema_free(args);
  if (!known) return no_such("scalar function", name, err);
  extension_string_free(name);
  return bound;
}

bool exports_lode_guest_scalar_static_function_open(extension_string_t *name, exports_lode_guest_scalar_schema_t *args,
                                                    exports_lode_guest_scalar_own_function_t *ret,
                                                    extension_string_t *err) {
  bool known = is_name(name);
  bool bound = known && check_args(args, err);
  if (bound) *ret = exports_lode_guest_scalar_function_new(allocate(sizeof(exports_lode_guest_scalar_function_t)));
  lode_guest_arrow_schema_free(args);
  if (!known) return no_such("scalar function", name, err);
  extension_string_free(name);
  return bound;
}

void exports_lode_guest_scalar_function_destructor(exports_lode_guest_scalar_function_t *rep) { free(rep); }

bool exports_lode_guest_scalar_method_function_call(exports_lode_guest_scalar_borrow_function_t self,
                                                    exports_lode_guest_scalar_batch_t *input,
                                                    exports_lode_guest_scalar_batch_t *ret,
                                                    exports_lode_guest_scalar_call_error_t *err) {
  (void)self;
  if (!check_fixed_columns(input, ARGUMENT_COUNT, 8, err)) return false;
  uint32_t rows = input->num_rows;
  uint8_t *validity = allocate((rows + 7) / 8);
  double *values = allocate((size_t)rows * 8);
  uint32_t nulls = 0;
  for (uint32_t row = 0; row < rows; row++) {
    double a[ARGUMENT_COUNT];
    bool valid = true;
    for (size_t c = 0; c < ARGUMENT_COUNT; c++) valid = fixed_at(input, c, row, &a[c], 8) && valid;
    if (valid) {
      values[row] = {{function}}(a[0], a[1], a[2], a[3]);
      validity[row / 8] |= (uint8_t)(1u << (row % 8));
    } else {
      nulls++;
    }
  }
  lode_guest_arrow_batch_free(input);

  one_column_batch(ret, rows, nulls, validity, values, 8);
  return true;
}
