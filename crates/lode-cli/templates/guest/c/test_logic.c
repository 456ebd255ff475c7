// cc test_logic.c logic.c -lm -o test_logic && ./test_logic
#include <math.h>
#include <stdio.h>

#include "logic.h"

static int failures = 0;

static void check(int ok, const char *what) {
  printf("%s: %s\n", ok ? "ok" : "FAILED", what);
  failures += !ok;
}

int main(void) {
  check(fabs({{function}}(52.52, 13.405, 48.8566, 2.3522) - 877.46) < 0.01, "Berlin to Paris is 877 km");
  check({{function}}(10, 20, 10, 20) == 0, "a point is 0 km from itself");
  return failures ? 1 : 0;
}
