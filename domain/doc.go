// Package domain is coprod's shared kernel: the error type every layer speaks,
// the principal a use case acts for, identifiers and the clock.
//
// Nothing under domain/ imports a driver, HTTP, River or an adapter
// (TestDependencyRule enforces it); adapters translate to and from it.
package domain
