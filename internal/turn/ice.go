package turn

// ICEServer is one entry of RTCConfiguration.iceServers as the browser
// expects it.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}
