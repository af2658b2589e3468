// Package apidiff keeps the apidiff reports of this module against
// go-oauth2 v3.9.2 and v4.5.4 (v3.9.2.txt, v4.5.4.txt, refreshed by
// refresh.sh), and its test checks that MIGRATING.md names every
// incompatible change they list. It has no code of its own.
package apidiff
