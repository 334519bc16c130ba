package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"bootd/internal/dhcpv4"
	"bootd/internal/server"
)

// Event stream timing: how often new exchanges are looked for, and how
// long a quiet stream waits before a keep-alive comment (so proxies and
// browsers do not close it).
const (
	eventPoll      = 250 * time.Millisecond
	eventKeepAlive = 15 * time.Second
	eventBacklog   = 100 // recent exchanges sent first to a new subscriber
)

// exchangeView is an exchange event (docs/api.md).
type exchangeView struct {
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
	Type      string    `json:"type"`
	Reply     string    `json:"reply"`
	MAC       string    `json:"mac"`
	Address   string    `json:"address,omitempty"`
	GIAddr    string    `json:"giaddr,omitempty"`
	Interface string    `json:"interface"`
	Reason    string    `json:"reason,omitempty"`
}

func exchangeOf(e *server.Exchange) exchangeView {
	v := exchangeView{Seq: e.Seq, Time: e.Time.UTC(), Type: e.Type.String(), MAC: dhcpv4.HexString(e.CHAddr[:e.HLen]),
		Interface: e.IfName, Reason: e.Reason}
	if e.BOOTP {
		v.Type = "BOOTREQUEST"
	}
	switch {
	case e.Answer && e.Reply == 0:
		v.Reply = "BOOTREPLY"
	case e.Answer:
		v.Reply = e.Reply.String()
	}
	if e.Addr.IsValid() && !e.Addr.IsUnspecified() {
		v.Address = e.Addr.String()
	}
	if e.GIAddr.IsValid() {
		v.GIAddr = e.GIAddr.String()
	}
	return v
}

// events streams the exchanges as server-sent events: each is an
// "exchange" event whose id is its sequence number. A subscriber that
// falls behind the server's ring gets a "skipped" event with the count.
func (a *API) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return
	}
	// A reconnecting EventSource says what it saw last; a new one gets
	// the latest few exchanges first.
	var last uint64
	_, newest := a.b.Exchanges(^uint64(0)-1, nil)
	if id, err := strconv.ParseUint(r.Header.Get("Last-Event-ID"), 10, 64); err == nil && id <= newest {
		last = id
	} else if newest > eventBacklog {
		last = newest - eventBacklog
	}
	var buf []server.Exchange
	tick := time.NewTicker(eventPoll)
	defer tick.Stop()
	quiet := time.Now()
	for {
		buf, newest = a.b.Exchanges(last, buf[:0])
		rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if len(buf) > 0 && buf[0].Seq > last+1 {
			fmt.Fprintf(w, "event: skipped\ndata: %d\n\n", buf[0].Seq-last-1)
		}
		for i := range buf {
			b, _ := json.Marshal(exchangeOf(&buf[i]))
			fmt.Fprintf(w, "id: %d\nevent: exchange\ndata: %s\n\n", buf[i].Seq, b)
		}
		if len(buf) > 0 || time.Since(quiet) > eventKeepAlive {
			if len(buf) == 0 {
				fmt.Fprint(w, ": keep-alive\n\n")
			}
			quiet = time.Now()
			if err := rc.Flush(); err != nil {
				return
			}
		}
		last = newest
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}
