// Package work is the hot path the profile records.
package work

// Sum adds i*i%7 for every i below n.
//
//dd:span
func Sum(n int) int {
	total := 0
	for i := 0; i < n; i++ {
		total += square(i)
	}
	return total
}

func square(i int) int {
	return i * i % 7
}
