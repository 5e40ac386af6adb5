// Package clusterlink connects one node's signaling to the cluster
// (internal/cluster): it decides which node is a room's home, and relays a
// participant whose Socket.IO connection landed on another node to that
// home and back.
//
// # How a relayed participant works
//
// Signaling asks [Link.Relay] on a join. When this node is (or becomes)
// the room's home, the answer is nil and signaling serves the socket here,
// with no Redis round trip for its events. Otherwise the answer is a proxy
// (signaling.Remote): from then on the node holding the socket (the edge)
// forwards each of the client's Socket.IO packets to the home as it came
// (socketio.Event.Encode), and the home runs them through a virtual
// socket (socketio.Server.OpenRemote) that its signaling treats as any
// other: joins, relays, chat, acks, host controls, resumes. What the home
// sends that socket comes back as raw packets that the edge writes to the
// client unchanged. Both ways go through cluster.Publish and Subscribe:
// numbered, acknowledged and de-duplicated per pair of nodes, and sent only
// to the one node concerned.
//
// # Messages between nodes (cluster.Event.Type)
//
//	open    edge → home   the client's request headers and CONNECT auth
//	opened  home → edge   the home took it
//	moved   home → edge   not the room's home (another node owns it): open there
//	in      edge → home   client packets
//	out     home → edge   packets for the client
//	close   edge → home   the client's connection ended (with the reason)
//	closed  home → edge   the home ended the virtual socket
//
// # Room homes
//
// A room's home is the node holding its lease (cluster.Claim). A room
// without one is placed by cluster.PlaceRoom (less loaded of two live
// nodes) and claimed by the chosen node when the first participant's open
// arrives; two nodes racing for a new room both go through Claim, and the
// loser answers moved. While Redis cannot be reached, a new room stays on
// the node that was asked, alone.
//
// # When a node dies or stops
//
// The home mirrors each room's shared state into Redis (mirror.go: the
// link is the rooms' Store), and the node that claims a room whose home
// died rebuilds it from there (Restorer), its participants away until
// they resume with their tokens. A node shutting down writes its rooms a
// last time and releases their leases (Release). What a dead node never
// gave its clients is read back from its stream and given to their next
// connection (Undelivered).
//
// A home that finds its room taken over (it was frozen or cut off) closes
// its members' connections, which resume at the room's new home.
//
// Not done yet: handing a running room over to another node while its
// members stay connected.
package clusterlink
