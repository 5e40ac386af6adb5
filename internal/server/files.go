package server

import (
	"errors"
	"net/http"

	"github.com/huddlehq/huddle/internal/files"
	"github.com/huddlehq/huddle/internal/rooms"
	"github.com/huddlehq/huddle/internal/signaling"
	"github.com/prometheus/client_golang/prometheus"
)

// newFiles starts the store of the files shared in chat (--chat-files),
// tells signaling the largest file (the join ack carries it) and chains
// sigCfg's OnEvent so that a meeting that ends takes its files with it.
// sig is read only once requests come, after the service exists. It
// returns a nil store when files are off.
func (s *Server) newFiles(sigCfg *signaling.Config, sig **signaling.Service) (*files.Store, http.Handler, error) {
	if !s.cfg.Files.Enabled {
		return nil, nil, nil
	}
	fc := s.cfg.Files.Files()
	fc.Logger = s.log
	store, err := files.New(fc)
	if err != nil {
		return nil, nil, err
	}
	sigCfg.FileMaxBytes = store.MaxFileBytes()
	next := sigCfg.OnEvent
	sigCfg.OnEvent = func(ev signaling.Event) {
		if ev.Type == signaling.EventMeetingEnded {
			// On the departure's goroutine, not another: a meeting started
			// again under the same id at once must not lose its new files
			// to a late deletion. Removing a folder of at most
			// --chat-files-per-meeting files is quick.
			store.Delete(ev.Room)
		}
		if next != nil {
			next(ev)
		}
	}
	s.metrics.Registry().MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "huddle_chat_files", Help: "Files shared in meetings' chats and kept now (uploads in progress included)."},
			func() float64 { n, _ := store.Stats(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "huddle_chat_files_bytes", Help: "Bytes of the files shared in meetings' chats and kept now (uploads in progress at their declared size)."},
			func() float64 { _, b := store.Stats(); return float64(b) }),
	)
	h := files.NewHandler(files.HandlerConfig{
		Store: store, Members: fileMembers{sig}, CheckOrigin: s.checkFilesOrigin, ClientIP: s.clientIP, Logger: s.log,
	})
	return store, h, nil
}

// checkFilesOrigin refuses uploads and downloads asked for by other
// sites' pages, as signaling sessions are.
func (s *Server) checkFilesOrigin(r *http.Request) bool {
	if s.origins.allows(r) {
		return true
	}
	s.log.Debug("file request refused", "reason", "origin", "origin", r.Header.Get("Origin"))
	return false
}

// fileMembers is the signaling service as the files' handler asks it.
type fileMembers struct{ sig **signaling.Service }

func (m fileMembers) Member(room, token string, upload bool) (string, error) {
	id, role, err := (*m.sig).FileMember(room, token)
	if errors.Is(err, signaling.ErrNoRoom) {
		return "", files.ErrNoMeeting
	}
	if err != nil {
		return "", files.ErrNotMember
	}
	if upload && role == signaling.RoleViewer {
		return "", files.ErrViewer
	}
	return id, nil
}

func (m fileMembers) Shared(room, from string, f files.File) error {
	_, err := (*m.sig).ShareFile(room, from, rooms.ChatFile{ID: f.ID, Name: f.Name, Size: f.Size, Type: f.Type})
	return err
}
