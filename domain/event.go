package domain

// Event is something a use case did whose consequences run outside its
// transaction: a job to schedule, an e-mail to send. Use cases hand events
// to their transaction (Tx.Publish); the adapter turns them into jobs
// inserted in that same transaction, so a job exists if and only if the
// change committed.
type Event interface {
	EventKind() string
}
