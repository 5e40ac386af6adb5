package config

import "github.com/huddlehq/huddle/internal/files"

// FilesConfig is the files shared in chat (internal/files), as flags.
type FilesConfig struct {
	// Enabled lets participants share files in the chat.
	Enabled bool
	// Dir is where the store makes its folder; "": the system's temporary
	// folder.
	Dir string
	// MaxFileBytes is the largest file.
	MaxFileBytes int
	// PerMeeting is how many files a meeting may hold.
	PerMeeting int
	// MeetingBytes bounds one meeting's files, TotalBytes all meetings'.
	MeetingBytes, TotalBytes int
}

func registerFiles(fs *flagSet, c *FilesConfig) {
	fs.Bool(&c.Enabled, "chat-files", true, "let participants share files in the chat (kept on disk until the meeting ends)")
	fs.Int(&c.MaxFileBytes, "chat-file-max-bytes", 25_000_000, "largest file shared in the chat, in bytes (25 MB)")
	fs.String(&c.Dir, "chat-files-dir", "", "folder under which the chat's files are kept while their meeting lasts (default: the system's temporary folder)")
	fs.Int(&c.PerMeeting, "chat-files-per-meeting", 100, "files one meeting may share")
	fs.Int(&c.MeetingBytes, "chat-files-meeting-bytes", 500<<20, "bytes of files one meeting may share")
	fs.Int(&c.TotalBytes, "chat-files-total-bytes", 5<<30, "bytes of shared files the server keeps for all meetings together")
}

func (c FilesConfig) validate() error {
	switch {
	case c.MaxFileBytes <= 0:
		return invalid("--chat-file-max-bytes: want a positive number of bytes")
	case c.PerMeeting <= 0:
		return invalid("--chat-files-per-meeting: want a positive number")
	case c.MeetingBytes < c.MaxFileBytes:
		return invalid("--chat-files-meeting-bytes: want at least --chat-file-max-bytes")
	case c.TotalBytes < c.MeetingBytes:
		return invalid("--chat-files-total-bytes: want at least --chat-files-meeting-bytes")
	}
	return nil
}

// Files returns the files package's configuration.
func (c FilesConfig) Files() files.Config {
	return files.Config{
		Dir: c.Dir, MaxFileBytes: int64(c.MaxFileBytes), MaxFilesPerMeeting: c.PerMeeting,
		MaxMeetingBytes: int64(c.MeetingBytes), MaxTotalBytes: int64(c.TotalBytes),
	}
}
