%%% @doc Echo server used by the convoy integration tests.
%%%
%%% One gen_server, three ways to talk to it:
%%% <ul>
%%%   <li>`gen_server:call(Ref, ping)' replies `pong';</li>
%%%   <li>`gen_server:call(Ref, {echo, T})' replies `T' unchanged;</li>
%%%   <li>plain message `{Pid, T}' (Pid a pid): `T' is sent to `Pid'.
%%%       A single process handles them, so order is preserved.</li>
%%% </ul>
%%% Extra calls: `{send, Dest, Msg}' sends Msg to Dest and replies `ok'
%%% (lets a test make a BEAM process send to a C node), `count' replies
%%% the number of plain messages echoed so far, `stop' stops the server.
-module(convoy_fixture_echo).
-behaviour(gen_server).

-export([start/1, start_link/1, stop/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

%% @doc Start unlinked and registered locally as Name.
-spec start(atom()) -> {ok, pid()} | {error, term()}.
start(Name) when is_atom(Name) ->
    gen_server:start({local, Name}, ?MODULE, [], []).

-spec start_link(atom()) -> {ok, pid()} | {error, term()}.
start_link(Name) when is_atom(Name) ->
    gen_server:start_link({local, Name}, ?MODULE, [], []).

-spec stop(atom() | pid() | {atom(), node()}) -> ok.
stop(Ref) ->
    gen_server:call(Ref, stop).

init([]) ->
    {ok, #{echoed => 0}}.

handle_call(ping, _From, State) ->
    {reply, pong, State};
handle_call({echo, Term}, _From, State) ->
    {reply, Term, State};
handle_call({send, Dest, Msg}, _From, State) ->
    Dest ! Msg,
    {reply, ok, State};
handle_call(count, _From, #{echoed := N} = State) ->
    {reply, N, State};
handle_call(stop, _From, State) ->
    {stop, normal, ok, State};
handle_call(Other, _From, State) ->
    {reply, {error, {unknown_request, Other}}, State}.

handle_cast(_Msg, State) ->
    {noreply, State}.

handle_info({Pid, Term}, #{echoed := N} = State) when is_pid(Pid) ->
    Pid ! Term,
    {noreply, State#{echoed := N + 1}};
handle_info(_Other, State) ->
    {noreply, State}.
