"""`{{function}}`: plain Python with no guest dependency, so `python3 -m unittest` tests it."""
import math

# The Earth's mean radius (IUGG), in kilometres.
EARTH_RADIUS_KM = 6371.0088


def {{function}}(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two points in degrees, by the haversine formula."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_d_phi = math.radians(lat2 - lat1) / 2
    half_d_lambda = math.radians(lon2 - lon1) / 2
    a = math.sin(half_d_phi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_d_lambda) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))
