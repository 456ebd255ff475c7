#include "logic.h"

#include <math.h>

// The Earth's mean radius (IUGG), in kilometres.
static const double EARTH_RADIUS_KM = 6371.0088;

static double radians(double degrees) { return degrees * M_PI / 180.0; }

// By the haversine formula.
double {{function}}(double lat1, double lon1, double lat2, double lon2) {
  double half_d_phi = radians(lat2 - lat1) / 2;
  double half_d_lambda = radians(lon2 - lon1) / 2;
  double a = pow(sin(half_d_phi), 2) + cos(radians(lat1)) * cos(radians(lat2)) * pow(sin(half_d_lambda), 2);
  return 2 * EARTH_RADIUS_KM * asin(sqrt(a));
}
