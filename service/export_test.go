package service

// Exported for the tests of package service_test.
var (
	ParseRow  = parseRow
	DecodeRow = decodeRow
)
