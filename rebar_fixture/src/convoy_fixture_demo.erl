%%% @doc The BEAM side of `./run demo': a loop that talks to the c_node every few seconds
%%% and prints what it sees, so a newcomer watches the cluster work.
-module(convoy_fixture_demo).

-export([loop/2]).

%% @doc Forever: ping the c_node, call its gen_server, stream through its echo process.
-spec loop(node(), pos_integer()) -> no_return().
loop(CNode, PeriodMs) ->
    one_round(CNode),
    timer:sleep(PeriodMs),
    loop(CNode, PeriodMs).

one_round(CNode) ->
    Ping = net_adm:ping(CNode),
    Echo = catch gen_server:call({c_node, CNode}, {echo, {hello, from, node(), #{t => erlang:system_time(millisecond)}}}, 5000),
    Nodes = catch gen_server:call({c_node, CNode}, nodes, 5000),
    T0 = erlang:monotonic_time(microsecond),
    Self = self(),
    N = 1000,
    [{echo, CNode} ! {Self, {seq, I}} || I <- lists:seq(1, N)],
    Got = collect(1, N),
    Us = max(1, erlang:monotonic_time(microsecond) - T0),
    io:format("~s ping ~p | echo ~0p~n", [node(), Ping, Echo]),
    io:format("~s c_node sees ~0p | ~p/~p echoed in order, ~p msg/s~n",
              [node(), Nodes, Got, N, N * 1000000 div Us]).

collect(I, N) when I > N -> N;
collect(I, N) ->
    receive {seq, I} -> collect(I + 1, N)
    after 5000 -> I - 1
    end.
