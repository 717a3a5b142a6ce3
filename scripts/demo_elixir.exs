# The Elixir side of ./run demo: every few seconds, talk to the c_node and print what it says.
# The c_node may not be up yet (it joins through DNS): failures are printed, not fatal.
[cnode | _] = System.argv()
c = String.to_atom(cnode)

round = fn ->
  try do
    ping = Node.ping(c)
    pong = GenServer.call({:c_node, c}, :ping)
    echo = GenServer.call({:c_node, c}, {:echo, %{from: :elixir, list: [1, 2.5, "bin", ~c"chars"]}})
    IO.puts("#{node()} Node.ping #{ping} | GenServer.call ping -> #{pong}")
    IO.puts("#{node()} echo #{inspect(echo)}")
  catch
    :exit, reason -> IO.puts("#{node()} c_node not reachable yet: #{inspect(elem(reason, 0))}")
  end
end

Stream.repeatedly(fn ->
  round.()
  Process.sleep(4000)
end)
|> Stream.run()
