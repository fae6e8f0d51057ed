package store

// SetMaxExamined sets how many captures of an environment a search page reads, for the test,
// and puts it back when the test ends.
func SetMaxExamined(t interface{ Cleanup(func()) }, n int) {
	old := maxExamined
	maxExamined = n
	t.Cleanup(func() { maxExamined = old })
}
