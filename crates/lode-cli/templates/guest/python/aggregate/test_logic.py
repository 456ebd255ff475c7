import unittest

from logic import SumOfSquares


class Test(unittest.TestCase):
    def test_merged_partial_states_equal_one_pass(self):
        left, right = SumOfSquares(), SumOfSquares()
        left.add(3.0)
        right.add(4.0)
        left.merge(right)
        self.assertEqual(left.finish(), 12.5 ** 0.5)

    def test_no_values_give_null(self):
        self.assertIsNone(SumOfSquares().finish())

    def test_infinity_is_refused(self):
        with self.assertRaises(ValueError):
            SumOfSquares().add(float("inf"))


if __name__ == "__main__":
    unittest.main()
