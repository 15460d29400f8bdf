// Package depgraph holds only a test: it fails when a package of the module
// imports, directly or through others, what it must not. The rules are the
// table in depgraph_test.go; each says why.
package depgraph
