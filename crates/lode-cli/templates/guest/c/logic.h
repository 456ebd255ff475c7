// {{function}}: plain C with no guest dependency, so test_logic.c tests it natively.

#ifndef LOGIC_H
#define LOGIC_H

// The great-circle distance in kilometres between two points given in degrees.
double {{function}}(double lat1, double lon1, double lat2, double lon2);

#endif
