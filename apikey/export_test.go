package apikey

// Sign appends the checksum to the first KeyLen-6 characters of a key, so
// that tests can build well-formed keys with a chosen id or secret.
func Sign(body string) string { return string(appendChecksum([]byte(body))) }
