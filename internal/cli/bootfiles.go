package cli

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"

	"bootd/internal/config"
	"bootd/internal/lease"
)

// bootTemplates makes the configuration's boot templates for the client
// asking, over TFTP or HTTP: the templates of the configuration being
// served (reloads included), executed with the client's address and what
// its lease says of it.
type bootTemplates struct {
	current func() *config.Config
	leases  interface {
		Get(ctx context.Context, addr netip.Addr) (lease.Lease, error)
	}
	log *slog.Logger
}

// render returns the file name made for client, or false when no template
// has that name.
func (b *bootTemplates) render(name string, client netip.AddrPort) ([]byte, bool) {
	t := b.current().BootTemplates[name]
	if t == nil {
		return nil, false
	}
	data := config.BootClient{Address: client.Addr().Unmap()}
	if l, err := b.leases.Get(context.Background(), data.Address); err == nil && l.Addr == data.Address {
		data.MAC = net.HardwareAddr(l.HWAddr).String()
		data.Hostname = l.Hostname
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		b.log.Warn("boot template failed", "name", name, "client", client, "err", err)
		return nil, false
	}
	return buf.Bytes(), true
}

// tftpFile is render for the TFTP server.
func (b *bootTemplates) tftpFile(name string, client netip.AddrPort) (io.ReaderAt, int64, bool) {
	c, ok := b.render(name, client)
	if !ok {
		return nil, 0, false
	}
	return bytes.NewReader(c), int64(len(c)), true
}
