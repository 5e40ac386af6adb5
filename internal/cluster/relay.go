package cluster

type relayState struct{}

func (r *relayState) init() {}
