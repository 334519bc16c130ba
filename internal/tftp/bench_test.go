package tftp

import (
	"log/slog"
	"testing"
)

// BenchmarkTransfer64MiB fetches a 64 MiB file over loopback with the test
// client at blksize 1428, windowsize 16.
func BenchmarkTransfer64MiB(b *testing.B) {
	ts := startServer(b, Config{Log: slog.New(slog.DiscardHandler)})
	content := randomBytes(64 << 20)
	ts.file(b, "big", content)
	c := client{req: Request{Filename: "big", Options: Options{BlockSize: 1428, WindowSize: 16}}}
	b.SetBytes(int64(len(content)))
	b.ReportAllocs()
	for b.Loop() {
		if res := c.get(b, ts.addr); len(res.data) != len(content) {
			b.Fatalf("got %d bytes, want %d", len(res.data), len(content))
		}
	}
}
