package server

import (
	"time"

	"github.com/huddlehq/huddle/internal/api"
	"github.com/huddlehq/huddle/internal/rooms"
	"github.com/huddlehq/huddle/internal/signaling"
)

func apiRoom(r signaling.RoomInfo) api.Room {
	out := api.Room{
		ID: r.ID, Host: r.Host, Media: r.Media, Persistent: r.Pinned,
		Participants: apiPeople(r.Members, r.Host), Waiting: apiPeople(r.Waiting, ""),
		Settings: api.Settings{Locked: r.Settings.Locked, HasPassword: r.Settings.HasPassword,
			WaitingRoom: r.Settings.WaitingRoom, MaxParticipants: r.MaxPeople},
		CreatedAt: timePtr(r.Created), ExpiresAt: timePtr(r.Expires),
	}
	return out
}

func apiPeople(list []rooms.PeerInfo, host string) []api.Participant {
	out := make([]api.Participant, 0, len(list))
	for _, p := range list {
		out = append(out, api.Participant{ID: p.ID, Name: p.Name, Role: p.Role, Host: p.ID == host && host != "",
			Audio: p.Audio, Video: p.Video, Screen: p.Screen, Recording: p.Recording})
	}
	return out
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func roomsPatch(p api.SettingsPatch) rooms.SettingsPatch {
	return rooms.SettingsPatch{Locked: p.Locked, Password: p.Password, WaitingRoom: p.WaitingRoom}
}
