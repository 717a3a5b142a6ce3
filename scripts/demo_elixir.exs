# The Elixir side of ./run demo: every few seconds, talk to the c_node and print what it says.
[cnode | _] = System.argv()
c = String.to_atom(cnode)

Stream.repeatedly(fn ->
  ping = Node.ping(c)
  pong = GenServer.call({:c_node, c}, :ping)
  echo = GenServer.call({:c_node, c}, {:echo, %{from: :elixir, list: [1, 2.5, "bin", ~c"chars"]}})
  IO.puts("#{node()} Node.ping #{ping} | GenServer.call ping -> #{pong}")
  IO.puts("#{node()} echo #{inspect(echo)}")
  Process.sleep(4000)
end)
|> Stream.run()
