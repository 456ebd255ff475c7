import unittest

from logic import {{function}}


class Test(unittest.TestCase):
    def test_berlin_to_paris_is_877_km(self):
        self.assertAlmostEqual({{function}}(52.52, 13.405, 48.8566, 2.3522), 877.46, places=2)

    def test_a_point_is_0_km_from_itself(self):
        self.assertEqual({{function}}(10.0, 20.0, 10.0, 20.0), 0.0)


if __name__ == "__main__":
    unittest.main()
