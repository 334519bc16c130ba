package lease

import "testing"

func TestAppendKey(t *testing.T) {
	tests := []struct {
		clientID []byte
		hwType   uint8
		hwAddr   []byte
		want     ClientKey
	}{
		{nil, 1, []byte{2, 0, 0, 0, 0, 1}, "h\x01\x02\x00\x00\x00\x00\x01"},
		{[]byte{}, 6, nil, "h\x06"},
		{[]byte{1, 2, 0, 0, 0, 0, 1}, 1, []byte{2, 0, 0, 0, 0, 1}, "i\x01\x02\x00\x00\x00\x00\x01"},
		{[]byte("x"), 0, nil, "ix"},
	}
	for _, tt := range tests {
		if got := MakeKey(tt.clientID, tt.hwType, tt.hwAddr); got != tt.want {
			t.Errorf("MakeKey(%x, %d, %x) = %q, want %q", tt.clientID, tt.hwType, tt.hwAddr, got, tt.want)
		}
		got := AppendKey([]byte("prefix"), tt.clientID, tt.hwType, tt.hwAddr)
		if string(got) != "prefix"+string(tt.want) {
			t.Errorf("AppendKey(%x, %d, %x) = %q, want %q", tt.clientID, tt.hwType, tt.hwAddr, got, "prefix"+tt.want)
		}
		l := Lease{ClientID: tt.clientID, HWType: tt.hwType, HWAddr: tt.hwAddr}
		if got := l.Key(); got != tt.want {
			t.Errorf("Key() = %q, want %q", got, tt.want)
		}
	}
	var buf [32]byte
	if n := testing.AllocsPerRun(100, func() { AppendKey(buf[:0], nil, 1, []byte{1, 2, 3, 4, 5, 6}) }); n != 0 {
		t.Errorf("AppendKey into a large enough buffer: %v allocs", n)
	}
}
