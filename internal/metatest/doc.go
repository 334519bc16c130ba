// Package metatest holds tests about the repository itself: dependency rules
// between packages and the presence of package documentation. It has no
// non-test code besides this comment.
package metatest
